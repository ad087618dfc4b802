// Package mp4track holds what the library's MP4 probe and the playout reader
// both need to choose an MP4 file's tracks.
package mp4track

import "github.com/Eyevinn/mp4ff/mp4"

// ChapterTrackIDs returns the ids of the tracks that other tracks reference as
// QuickTime chapters (tref "chap"): text tracks, not media to play.
func ChapterTrackIDs(moov *mp4.MoovBox) map[uint32]bool {
	ids := map[uint32]bool{}
	for _, trak := range moov.Traks {
		for _, c := range trak.Children {
			tref, ok := c.(*mp4.TrefBox)
			if !ok {
				continue
			}
			for _, tc := range tref.Children {
				if tt, ok := tc.(*mp4.TrefTypeBox); ok && tt.Name == "chap" {
					for _, id := range tt.TrackIDs {
						ids[id] = true
					}
				}
			}
		}
	}
	return ids
}

// Complete reports whether trak has the boxes a media track needs (mdia with
// hdlr and mdhd, and minf/stbl/stsd).
func Complete(trak *mp4.TrakBox) bool {
	return trak.Mdia != nil && trak.Mdia.Hdlr != nil && trak.Mdia.Minf != nil && trak.Mdia.Minf.Stbl != nil &&
		trak.Mdia.Minf.Stbl.Stsd != nil && trak.Mdia.Mdhd != nil
}
