package testmedia

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/Eyevinn/mp4ff/mp4"
)

// Timescales of MP4 clips: video in 90 kHz ticks, like MPEG-TS, so both
// containers carry the same video timestamps; audio in samples.
const (
	mp4VideoTimescale = 90000
	mp4AudioTimescale = aacSampleRate
	mp4MovieTimescale = 1000
)

// mp4Chunk is a run of consecutive samples of one track stored together in mdat.
type mp4Chunk struct {
	audio        bool
	first, count int
	size         uint32
}

// writeMP4 writes c as a progressive MP4 with the moov box before mdat
// ("faststart"), so a browser can start playing while it downloads. Samples
// are stored in one chunk per track per second of media, video then audio, so
// a player reading both tracks moves forward through the file.
// Specification: ISO/IEC 14496-12 (boxes), ISO/IEC 14496-15 (avc1, avcC),
// ISO/IEC 14496-14 (mp4a, esds).
func writeMP4(w io.Writer, c *clip) error {
	video := make([][]byte, c.frames) // AVCC: 4-byte length prefixes, no parameter sets
	for i := range video {
		video[i] = avccSample(c.videoNALUs(i, false))
	}
	audio := make([][]byte, c.audioFrames)
	for n := range audio {
		audio[n] = c.audio.frame(n)
	}

	chunks := mp4Chunks(c, video, audio)
	moov, err := buildMoov(c, video, audio, chunks)
	if err != nil {
		return err
	}

	ftyp := mp4.NewFtyp("isom", 0x200, []string{"isom", "iso2", "avc1", "mp41"})
	var mdatSize uint64 = 8
	for _, ch := range chunks {
		mdatSize += uint64(ch.size)
	}
	offset := ftyp.Size() + moov.Size() + 8
	if offset+mdatSize > math.MaxUint32 {
		return fmt.Errorf("mp4: %d bytes of media do not fit 32-bit chunk offsets", mdatSize)
	}
	// Fill in stco now that the size of moov is known (it does not depend on the values).
	vt, at := moov.Traks[0], (*mp4.TrakBox)(nil)
	if len(moov.Traks) > 1 {
		at = moov.Traks[1]
	}
	var vi, ai int
	for _, ch := range chunks {
		if ch.audio {
			at.Mdia.Minf.Stbl.Stco.ChunkOffset[ai] = uint32(offset)
			ai++
		} else {
			vt.Mdia.Minf.Stbl.Stco.ChunkOffset[vi] = uint32(offset)
			vi++
		}
		offset += uint64(ch.size)
	}

	if err = ftyp.Encode(w); err != nil {
		return err
	}
	if err = moov.Encode(w); err != nil {
		return err
	}
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(mdatSize))
	copy(hdr[4:], "mdat")
	if _, err = w.Write(hdr[:]); err != nil {
		return err
	}
	for _, ch := range chunks {
		samples := video
		if ch.audio {
			samples = audio
		}
		for _, s := range samples[ch.first : ch.first+ch.count] {
			if _, err = w.Write(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// avccSample joins NAL units with 4-byte big-endian length prefixes.
func avccSample(nalus [][]byte) []byte {
	n := 0
	for _, u := range nalus {
		n += 4 + len(u)
	}
	out := make([]byte, 0, n)
	for _, u := range nalus {
		out = binary.BigEndian.AppendUint32(out, uint32(len(u)))
		out = append(out, u...)
	}
	return out
}

// mp4Chunks splits the samples into one chunk per track per second, in file order.
func mp4Chunks(c *clip, video, audio [][]byte) []mp4Chunk {
	num, den := int64(c.o.FrameRateNum), int64(c.o.FrameRateDen)
	var chunks []mp4Chunk
	add := func(isAudio bool, samples [][]byte, first, end int) {
		end = min(end, len(samples))
		if first >= end {
			return
		}
		ch := mp4Chunk{audio: isAudio, first: first, count: end - first}
		for _, s := range samples[first:end] {
			ch.size += uint32(len(s))
		}
		chunks = append(chunks, ch)
	}
	for s := int64(0); ; s++ {
		// First frame at or after second s, for each track.
		v0, v1 := int((s*num+den-1)/den), int(((s+1)*num+den-1)/den)
		a0, a1 := int((s*aacSampleRate+aacFrameSamples-1)/aacFrameSamples), int(((s+1)*aacSampleRate+aacFrameSamples-1)/aacFrameSamples)
		if v0 >= len(video) && a0 >= len(audio) {
			return chunks
		}
		add(false, video, v0, v1)
		add(true, audio, a0, a1)
	}
}

// buildMoov builds the movie box with zero chunk offsets.
func buildMoov(c *clip, video, audio [][]byte, chunks []mp4Chunk) (*mp4.MoovBox, error) {
	moov := mp4.NewMoovBox()
	mvhd := mp4.CreateMvhd()
	mvhd.Timescale = mp4MovieTimescale
	moov.AddChild(mvhd)

	videoDur := uint64(c.videoPTS(c.frames))
	vt, err := buildVideoTrak(c, video, chunks, videoDur)
	if err != nil {
		return nil, err
	}
	moov.AddChild(vt)
	movieDur := ceilDiv(videoDur*mp4MovieTimescale, mp4VideoTimescale)

	if c.audio != nil {
		audioDur := uint64(len(audio)) * aacFrameSamples
		var at *mp4.TrakBox
		if at, err = buildAudioTrak(audio, chunks, audioDur); err != nil {
			return nil, err
		}
		moov.AddChild(at)
		movieDur = max(movieDur, ceilDiv(audioDur*mp4MovieTimescale, mp4AudioTimescale))
	}

	mvhd.Duration = movieDur
	mvhd.NextTrackID = uint32(len(moov.Traks) + 1)
	for _, t := range moov.Traks {
		t.Tkhd.Duration = movieDur
	}
	return moov, nil
}

// buildVideoTrak builds the H.264 track: avc1 with the avcC holding SPS and
// PPS, one stts run per distinct frame duration, and every IDR in stss.
func buildVideoTrak(c *clip, video [][]byte, chunks []mp4Chunk, duration uint64) (*mp4.TrakBox, error) {
	vt, err := buildTrak(1, "vide", mp4VideoTimescale, duration)
	if err != nil {
		return nil, err
	}
	avcC, err := mp4.CreateAvcC([][]byte{c.sps}, [][]byte{c.pps}, true)
	if err != nil {
		return nil, fmt.Errorf("mp4: avcC: %w", err)
	}
	avc1 := mp4.CreateVisualSampleEntryBox("avc1", uint16(c.o.Width), uint16(c.o.Height), avcC)
	avc1.CompressorName = "onair testmedia"
	stbl := vt.Mdia.Minf.Stbl
	stbl.Stsd.AddChild(avc1)
	vt.Tkhd.Width = mp4.Fixed32(c.o.Width << 16)
	vt.Tkhd.Height = mp4.Fixed32(c.o.Height << 16)
	for i := range video {
		sttsAdd(stbl.Stts, uint32(c.videoPTS(i+1)-c.videoPTS(i)))
		if c.isIDR(i) {
			stbl.Stss.SampleNumber = append(stbl.Stss.SampleNumber, uint32(i+1))
		}
	}
	fillSampleTables(stbl, video, chunks, false)
	return vt, nil
}

// buildAudioTrak builds the AAC track: mp4a with an esds holding the
// AudioSpecificConfig, and every frame 1024 samples long.
func buildAudioTrak(audio [][]byte, chunks []mp4Chunk, duration uint64) (*mp4.TrakBox, error) {
	at, err := buildTrak(2, "soun", mp4AudioTimescale, duration)
	if err != nil {
		return nil, err
	}
	at.Tkhd.Volume = 0x0100
	stbl := at.Mdia.Minf.Stbl
	esds := mp4.CreateEsdsBox(aacAudioSpecificConfig())
	stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("mp4a", aacChannels, 16, aacSampleRate, esds))
	stbl.Stts.SampleCount = []uint32{uint32(len(audio))}
	stbl.Stts.SampleTimeDelta = []uint32{aacFrameSamples}
	fillSampleTables(stbl, audio, chunks, true)
	return at, nil
}

// buildTrak builds an empty track with its sample table boxes in the order
// ISO/IEC 14496-12 lists them: stsd, stts, stss (video), stsc, stsz, stco.
func buildTrak(id uint32, handler string, timescale uint32, duration uint64) (*mp4.TrakBox, error) {
	trak := mp4.NewTrakBox()
	tkhd := mp4.CreateTkhd()
	tkhd.TrackID = id
	trak.AddChild(tkhd)

	mdia := mp4.NewMdiaBox()
	trak.AddChild(mdia)
	mdhd := &mp4.MdhdBox{Timescale: timescale, Duration: duration}
	mdhd.SetLanguage("und")
	mdia.AddChild(mdhd)
	hdlr, err := mp4.CreateHdlr(handler)
	if err != nil {
		return nil, err
	}
	hdlr.Name = "onair testmedia"
	mdia.AddChild(hdlr)

	minf := mp4.NewMinfBox()
	mdia.AddChild(minf)
	if handler == "vide" {
		minf.AddChild(mp4.CreateVmhd())
	} else {
		minf.AddChild(mp4.CreateSmhd())
	}
	dinf := &mp4.DinfBox{}
	dinf.AddChild(mp4.CreateDref())
	minf.AddChild(dinf)

	stbl := mp4.NewStblBox()
	minf.AddChild(stbl)
	stbl.AddChild(mp4.NewStsdBox())
	stbl.AddChild(&mp4.SttsBox{})
	if handler == "vide" {
		stbl.AddChild(&mp4.StssBox{})
	}
	stbl.AddChild(&mp4.StscBox{})
	stbl.AddChild(&mp4.StszBox{})
	stbl.AddChild(&mp4.StcoBox{})
	return trak, nil
}

// fillSampleTables sets stsz, stsc and a placeholder stco for one track.
func fillSampleTables(stbl *mp4.StblBox, samples [][]byte, chunks []mp4Chunk, audio bool) {
	stbl.Stsz.SampleNumber = uint32(len(samples))
	stbl.Stsz.SampleSize = make([]uint32, len(samples))
	for i, s := range samples {
		stbl.Stsz.SampleSize[i] = uint32(len(s))
	}
	n := uint32(0)
	prev := -1
	for _, ch := range chunks {
		if ch.audio != audio {
			continue
		}
		n++
		if ch.count != prev {
			// AddEntry fails only for a first chunk other than 1, which cannot happen here.
			_ = stbl.Stsc.AddEntry(n, uint32(ch.count), 1)
			prev = ch.count
		}
	}
	stbl.Stco.ChunkOffset = make([]uint32, n)
}

// sttsAdd appends one sample of duration d to a time-to-sample table.
func sttsAdd(stts *mp4.SttsBox, d uint32) {
	last := len(stts.SampleCount) - 1
	if last >= 0 && stts.SampleTimeDelta[last] == d {
		stts.SampleCount[last]++
		return
	}
	stts.SampleCount = append(stts.SampleCount, 1)
	stts.SampleTimeDelta = append(stts.SampleTimeDelta, d)
}

func ceilDiv(a, b uint64) uint64 {
	return (a + b - 1) / b
}
