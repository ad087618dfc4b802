package testmedia

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/stretchr/testify/require"
)

// TestMP4ParseBack reads every MP4 clip back with mp4ff and checks the box
// order, sample tables, timestamps, keyframes and codec configuration.
func TestMP4ParseBack(t *testing.T) {
	for _, ca := range clipCases {
		if ca.o.Container != ContainerMP4 {
			continue
		}
		t.Run(ca.name, func(t *testing.T) {
			o, err := ca.o.normalize()
			require.NoError(t, err)
			data := generate(t, o)
			f, err := mp4.DecodeFile(bytes.NewReader(data))
			require.NoError(t, err)

			var order []string
			for _, b := range f.Children {
				order = append(order, b.Type())
			}
			require.Equal(t, []string{"ftyp", "moov", "mdat"}, order, "moov before mdat")

			frames := FrameCount(o.Duration, o.FrameRateNum, o.FrameRateDen)
			wantTracks := 2
			if o.NoAudio {
				wantTracks = 1
			}
			require.Len(t, f.Moov.Traks, wantTracks)

			// Video.
			vt := f.Moov.Traks[0]
			require.Equal(t, "vide", vt.Mdia.Hdlr.HandlerType)
			require.Equal(t, uint32(90000), vt.Mdia.Mdhd.Timescale)
			stbl := vt.Mdia.Minf.Stbl
			require.Equal(t, uint32(frames), stbl.Stsz.SampleNumber)
			avcx := stbl.Stsd.AvcX
			require.NotNil(t, avcx)
			require.Equal(t, "avc1", avcx.Type())
			require.Equal(t, uint16(o.Width), avcx.Width)
			require.Equal(t, uint16(o.Height), avcx.Height)
			sps, err := avc.ParseSPSNALUnit(avcx.AvcC.SPSnalus[0], true)
			require.NoError(t, err)
			require.Equal(t, uint(o.Width), sps.Width)
			require.Equal(t, uint(o.Height), sps.Height)

			var wantSync []uint32
			for i := 0; i < frames; i += o.GOPFrames {
				wantSync = append(wantSync, uint32(i+1))
			}
			require.Equal(t, wantSync, stbl.Stss.SampleNumber)
			for i := range frames {
				dt, dur := stbl.Stts.GetDecodeTime(uint32(i + 1))
				require.Equal(t, uint64(FramePTS(i, o.FrameRateNum, o.FrameRateDen)), dt, "frame %d", i)
				require.Equal(t, uint32(FramePTS(i+1, o.FrameRateNum, o.FrameRateDen)-FramePTS(i, o.FrameRateNum, o.FrameRateDen)), dur)
			}
			for i := range frames {
				ranges, err := vt.GetRangesForSampleInterval(uint32(i+1), uint32(i+1))
				require.NoError(t, err)
				require.Len(t, ranges, 1)
				sample := data[ranges[0].Offset : ranges[0].Offset+ranges[0].Size]
				n := binary.BigEndian.Uint32(sample)
				require.Equal(t, int(n)+4, len(sample), "one length-prefixed NAL unit in frame %d", i)
				wantType := byte(1)
				if i%o.GOPFrames == 0 {
					wantType = 5
				}
				require.Equal(t, wantType, sample[4]&0x1f, "NAL type of frame %d", i)
			}

			if o.NoAudio {
				return
			}
			at := f.Moov.Traks[1]
			require.Equal(t, "soun", at.Mdia.Hdlr.HandlerType)
			require.Equal(t, uint32(48000), at.Mdia.Mdhd.Timescale)
			astbl := at.Mdia.Minf.Stbl
			nAudio := AudioFrameCount(frames, o.FrameRateNum, o.FrameRateDen)
			require.Equal(t, uint32(nAudio), astbl.Stsz.SampleNumber)
			require.Equal(t, []uint32{uint32(nAudio)}, astbl.Stts.SampleCount)
			require.Equal(t, []uint32{1024}, astbl.Stts.SampleTimeDelta)
			mp4a := astbl.Stsd.Mp4a
			require.NotNil(t, mp4a)
			require.Equal(t, uint16(2), mp4a.ChannelCount)
			require.Equal(t, uint16(48000), mp4a.SampleRate)
			require.Equal(t, []byte{0x11, 0x90}, mp4a.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig)
			ranges, err := at.GetRangesForSampleInterval(1, uint32(nAudio))
			require.NoError(t, err)
			var last uint64
			for _, r := range ranges {
				require.Greater(t, r.Offset, last, "chunks in file order")
				last = r.Offset
			}
			require.Greater(t, len(ranges), 1, "audio interleaved in several chunks")
		})
	}
}

// chromiumPage plays /clip.mp4 muted and reports to /report how far it got,
// or the media error.
const chromiumPage = `<!doctype html>
<html><body>
<video id="v" muted autoplay playsinline></video>
<script>
const v = document.getElementById('v');
let sent = false;
function report(q) { if (!sent) { sent = true; fetch('/report?' + q); } }
v.addEventListener('error', () => report('error=' + (v.error ? v.error.code + ':' + encodeURIComponent(v.error.message) : 'unknown')));
v.addEventListener('timeupdate', () => {
  if (v.currentTime > 1.5) report('t=' + v.currentTime + '&w=' + v.videoWidth + '&h=' + v.videoHeight);
});
v.src = '/clip.mp4';
v.play().catch(e => report('error=play:' + encodeURIComponent(e)));
</script>
</body></html>`

// TestChromiumPlaysMP4 serves a generated MP4 over plain HTTP to headless
// Chromium and checks that it plays past 1.5 s without a media error.
func TestChromiumPlaysMP4(t *testing.T) {
	bin := needTool(t, "chromium", "chromium-browser")
	clip := generate(t, Options{Duration: 4 * time.Second, Container: "mp4", Label: "CHROMIUM"})

	type result struct {
		t    float64
		w, h int
		err  string
	}
	results := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(chromiumPage))
	})
	mux.HandleFunc("/clip.mp4", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		http.ServeContent(w, r, "clip.mp4", time.Time{}, bytes.NewReader(clip))
	})
	mux.HandleFunc("/report", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res result
		res.err = q.Get("error")
		res.t, _ = strconv.ParseFloat(q.Get("t"), 64)
		res.w, _ = strconv.Atoi(q.Get("w"))
		res.h, _ = strconv.Atoi(q.Get("h"))
		select {
		case results <- res:
		default:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--autoplay-policy=no-user-gesture-required", "--user-data-dir="+t.TempDir(),
		srv.URL+"/")
	// Chromium starts helper processes: run it in its own process group and
	// end exactly that group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waited := false
	defer func() {
		cancel()
		if !waited {
			<-exited
		}
	}()

	select {
	case res := <-results:
		require.Empty(t, res.err, "media error")
		require.Greater(t, res.t, 1.0, "currentTime")
		require.Equal(t, 640, res.w)
		require.Equal(t, 360, res.h)
		t.Logf("chromium played to currentTime=%.3f s, %dx%d", res.t, res.w, res.h)
	case err := <-exited:
		waited = true
		t.Fatalf("chromium exited before reporting: %v\n%s", err, tail(out.String(), 4000))
	case <-ctx.Done():
		err := <-exited // the output buffer is ours once Wait returns
		waited = true
		t.Fatalf("no report from chromium: %v (exit: %v)\n%s", ctx.Err(), err, tail(out.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("...%s", s[len(s)-n:])
}
