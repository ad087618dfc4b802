package iptv

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
)

// The HDHomeRun emulation: the HTTP API of a SiliconDust network tuner as
// Plex (DVR setup), Jellyfin and Emby (Live TV tuner "HDHomeRun") read it.
// They fetch /discover.json for the device, /lineup_status.json to see that
// no scan is running, /lineup.json for the channels, and tune a channel by
// GETting its URL (continuous MPEG-TS, /channels/{id}.ts).

// discoverJSON is /discover.json.
type discoverJSON struct {
	FriendlyName    string
	Manufacturer    string
	ModelNumber     string
	FirmwareName    string
	FirmwareVersion string
	DeviceID        string
	DeviceAuth      string
	BaseURL         string
	LineupURL       string
	TunerCount      int
}

// lineupEntry is one channel of /lineup.json.
type lineupEntry struct {
	GuideNumber string
	GuideName   string
	URL         string
	HD          int `json:",omitempty"`
}

// lineupStatusJSON is /lineup_status.json.
type lineupStatusJSON struct {
	ScanInProgress int
	ScanPossible   int
	Source         string
	SourceList     []string
}

func (h *Handler) tunerCount() int {
	if h.cfg.Tuners == nil {
		return DefaultTuners
	}
	return h.cfg.Tuners.Count()
}

func writeHDHRJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// discover answers GET /discover.json.
func (h *Handler) discover(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r) {
		return
	}
	base := baseURL(r)
	writeHDHRJSON(w, discoverJSON{
		FriendlyName: h.cfg.FriendlyName, Manufacturer: "Silicondust", ModelNumber: "HDTC-2US",
		FirmwareName: "hdhomeruntc_atsc", FirmwareVersion: "20200101", DeviceID: h.cfg.DeviceID,
		DeviceAuth: "onair", BaseURL: base, LineupURL: base + "/lineup.json", TunerCount: h.tunerCount(),
	})
}

// lineup answers GET /lineup.json[?show=found|all]: every channel, tuned by
// its continuous MPEG-TS URL (no query string: Plex appends its own).
func (h *Handler) lineup(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r, "show", "tuning") {
		return
	}
	base := baseURL(r)
	out := []lineupEntry{}
	for _, ch := range h.channels() {
		cfg := ch.Config()
		out = append(out, lineupEntry{
			GuideNumber: cfg.Number, GuideName: cfg.Name, HD: 1,
			URL: base + "/channels/" + channelPath(cfg.ID) + ".ts",
		})
	}
	writeHDHRJSON(w, out)
}

// lineupStatus answers GET /lineup_status.json: never scanning, and the
// lineup is always there.
func (h *Handler) lineupStatus(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r) {
		return
	}
	writeHDHRJSON(w, lineupStatusJSON{ScanInProgress: 0, ScanPossible: 1, Source: "Cable", SourceList: []string{"Cable"}})
}

// lineupPost answers POST /lineup.post?scan=start|abort (Plex asks for a
// channel scan): the lineup needs none, so it is acknowledged.
func (h *Handler) lineupPost(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r, "scan", "source") {
		return
	}
	switch r.URL.Query().Get("scan") {
	case "", "start", "abort":
	default:
		httpError(w, http.StatusBadRequest, "scan must be start or abort")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// UPnP device description of /device.xml (UPnP Device Architecture 1.0,
// 2.3), what SSDP-based clients read of an HDHomeRun.
type upnpRoot struct {
	XMLName     xml.Name    `xml:"urn:schemas-upnp-org:device-1-0 root"`
	SpecVersion upnpVersion `xml:"specVersion"`
	URLBase     string      `xml:"URLBase"`
	Device      upnpDevice  `xml:"device"`
}

type upnpVersion struct {
	Major int `xml:"major"`
	Minor int `xml:"minor"`
}

type upnpDevice struct {
	DeviceType   string `xml:"deviceType"`
	FriendlyName string `xml:"friendlyName"`
	Manufacturer string `xml:"manufacturer"`
	ModelName    string `xml:"modelName"`
	ModelNumber  string `xml:"modelNumber"`
	SerialNumber string `xml:"serialNumber"`
	UDN          string `xml:"UDN"`
}

// deviceXML answers GET /device.xml.
func (h *Handler) deviceXML(w http.ResponseWriter, r *http.Request) {
	if !checkQuery(w, r) {
		return
	}
	id := h.cfg.DeviceID
	doc := upnpRoot{
		SpecVersion: upnpVersion{Major: 1, Minor: 0},
		URLBase:     baseURL(r),
		Device: upnpDevice{
			DeviceType: "urn:schemas-upnp-org:device:MediaServer:1", FriendlyName: h.cfg.FriendlyName,
			Manufacturer: "Silicondust", ModelName: "HDTC-2US", ModelNumber: "HDTC-2US", SerialNumber: id,
			UDN: "uuid:" + id[:8] + "-6f6e-6169-7200-" + "00000000" + id[:4],
		},
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		httpError(w, http.StatusInternalServerError, "device description: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}
