// Package metrics exports onair's Prometheus metrics: HTTP requests by route
// and status, per channel segments served, segment generation latency, cache
// hits and misses, viewers per output, items failed, slate seconds, TR 101 290
// counters of generated segments, and library scans.
//
// Counters that happen in the request path (HTTP, segments, generations) are
// updated as they happen; values that a component already keeps (viewers,
// channel status, HLS cache usage) are read at scrape time by a Collector, so
// nothing is polled while nobody scrapes.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"onair/muxer/tr101290"
)

// Namespace prefixes every metric name.
const Namespace = "onair"

// ChannelSample is what the scrape-time collector reads of one channel.
type ChannelSample struct {
	ID string
	// Viewers per output ("hls", "ts", "rtsp", "webrtc", ...).
	Viewers map[string]int
	// ItemsFailed counts segments of items that failed to play.
	ItemsFailed int64
	// SlateSeconds is how long the slate played in place of failed items.
	SlateSeconds float64
	// LogFailures counts failed extensions of the playout log.
	LogFailures int64
}

// Sources are read at scrape time. Any field may be nil.
type Sources struct {
	Channels func() []ChannelSample
	// Cache reads the in-memory segment cache.
	Cache func() CacheSample
}

// CacheSample is the in-memory HLS segment cache's state.
type CacheSample struct {
	Bytes, Entries                         int64
	Evictions, Prefetched, PrefetchDropped uint64
}

// Metrics holds the registry and the metrics updated as events happen. The
// methods are safe for concurrent use. TR 101 290 analysis runs on goroutines
// owned by Metrics, bounded by a semaphore; Close waits for them.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	httpInFlight  prometheus.Gauge
	segsServed    *prometheus.CounterVec
	genSeconds    *prometheus.HistogramVec
	genErrors     *prometheus.CounterVec
	cacheRequests *prometheus.CounterVec
	tr            *prometheus.CounterVec
	trPriority    *prometheus.CounterVec
	trSegments    *prometheus.CounterVec
	scans         *prometheus.CounterVec
	scanFiles     *prometheus.GaugeVec
	scanSeconds   prometheus.Histogram
	reloads       *prometheus.CounterVec

	sources Sources
	smu     sync.Mutex

	trSem   chan struct{}
	trEvery int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	done    bool
}

// Options configure New.
type Options struct {
	// TRConcurrency bounds how many generated segments are analysed for TR
	// 101 290 at once; a segment generated while all are busy is not
	// analysed (counted as skipped). Defaults to 1; negative disables the
	// analysis.
	TRConcurrency int
	// TREvery samples the analysis: a channel's segment is analysed when its
	// number is a multiple of TREvery (and the analyser is free), so a loaded
	// server spends a bounded share of a core on it while every watched
	// channel is still checked every few segments. Defaults to 8; 1 analyses
	// every segment the analyser is free for.
	TREvery int64
}

// New returns Metrics with a fresh registry holding onair's metrics and the
// Go runtime and process collectors.
func New(opts Options) *Metrics {
	if opts.TREvery <= 0 {
		opts.TREvery = 8
	}
	if opts.TRConcurrency == 0 {
		opts.TRConcurrency = 1
	}
	r := prometheus.NewRegistry()
	m := &Metrics{Registry: r, trEvery: opts.TREvery}
	if opts.TRConcurrency > 0 {
		m.trSem = make(chan struct{}, opts.TRConcurrency)
	}
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
	}, []string{"route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds", Help: "Time to answer an HTTP request (until the handler returns), by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_requests_in_flight", Help: "HTTP requests being answered now.",
	})
	m.segsServed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "segments_served_total", Help: "Media segments answered with 200 or 206, per channel and output (hls, cmaf).",
	}, []string{"channel", "output"})
	m.genSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "segment_generation_seconds", Help: "Time to generate one HLS segment from the playout log, per channel.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"channel"})
	m.genErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "segment_generation_errors_total", Help: "HLS segment generations that failed, per channel.",
	}, []string{"channel"})
	m.cacheRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "segment_cache_requests_total", Help: "HLS segment requests answered from the in-memory cache (result=hit) or not (result=miss), per channel.",
	}, []string{"channel", "result"})
	m.tr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "tr101290_errors_total", Help: "ETSI TR 101 290 indicators raised in analysed HLS segments, per channel and indicator.",
	}, []string{"channel", "indicator"})
	m.trPriority = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "tr101290_priority_errors_total", Help: "ETSI TR 101 290 first (priority=1) and second (priority=2) priority errors in analysed HLS segments, per channel.",
	}, []string{"channel", "priority"})
	m.trSegments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "tr101290_segments_total", Help: "Generated HLS segments analysed for TR 101 290 (result=analysed) or passed over while the analyser was busy (result=skipped).",
	}, []string{"channel", "result"})
	m.scans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "library_scans_total", Help: "Library scans, by result (ok, error).",
	}, []string{"result"})
	m.scanFiles = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "library_last_scan_files", Help: "Files of the last successful library scan: seen, added, updated, moved, missing, problems.",
	}, []string{"what"})
	m.scanSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "library_scan_seconds", Help: "Time of a library scan.",
		Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "config_reloads_total", Help: "Configuration reloads (SIGHUP), by result (ok, error).",
	}, []string{"result"})
	for _, c := range []prometheus.Collector{
		m.httpRequests, m.httpDuration, m.httpInFlight, m.segsServed, m.genSeconds, m.genErrors, m.cacheRequests,
		m.tr, m.trPriority, m.trSegments, m.scans, m.scanFiles, m.scanSeconds, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&scrape{m: m},
	} {
		f(c)
	}
	return m
}

// SetSources sets what is read at scrape time.
func (m *Metrics) SetSources(s Sources) {
	m.smu.Lock()
	defer m.smu.Unlock()
	m.sources = s
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Close waits for the TR 101 290 analyses in flight; later segments are not
// analysed.
func (m *Metrics) Close() {
	m.mu.Lock()
	m.done = true
	m.mu.Unlock()
	m.wg.Wait()
}

// SegmentRequested counts a segment request of channel answered from the
// cache (hit) or not (hls.Observer).
func (m *Metrics) SegmentRequested(channel string, hit bool) {
	r := "miss"
	if hit {
		r = "hit"
	}
	m.cacheRequests.WithLabelValues(channel, r).Inc()
}

// SegmentGenerated records a generation's latency or error, and hands its
// bytes to the TR 101 290 analyser when it is free (hls.Observer).
func (m *Metrics) SegmentGenerated(channel string, seq int64, data []byte, took time.Duration, err error) {
	if err != nil {
		m.genErrors.WithLabelValues(channel).Inc()
		return
	}
	m.genSeconds.WithLabelValues(channel).Observe(took.Seconds())
	if m.trSem == nil || len(data) == 0 || seq%m.trEvery != 0 {
		return
	}
	select {
	case m.trSem <- struct{}{}:
	default:
		m.trSegments.WithLabelValues(channel, "skipped").Inc()
		return
	}
	m.mu.Lock()
	if m.done {
		m.mu.Unlock()
		<-m.trSem
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		defer func() { <-m.trSem }()
		m.analyse(channel, data)
	}()
}

// analyse runs one segment through a fresh analyser: each segment of a live
// playlist can be a client's first, so each must stand on its own (PAT, PMT
// and PCR within it, continuity counters consistent inside it).
func (m *Metrics) analyse(channel string, data []byte) {
	a := tr101290.NewAnalyzer(tr101290.Options{})
	_, _ = a.Write(data)
	_ = a.Close()
	c := a.Report().Counters
	for name, n := range c.Map() {
		if n > 0 {
			m.tr.WithLabelValues(channel, name).Add(float64(n))
		}
	}
	// Touch the priority series so that a zero is exported per channel.
	m.trPriority.WithLabelValues(channel, "1").Add(float64(c.Priority1()))
	m.trPriority.WithLabelValues(channel, "2").Add(float64(c.Priority2()))
	m.trSegments.WithLabelValues(channel, "analysed").Inc()
}

// ScanSummary is what ObserveScan records of a library scan.
type ScanSummary struct {
	Seen, Added, Updated, Moved, Missing, Problems int
}

// ObserveScan records a library scan.
func (m *Metrics) ObserveScan(s ScanSummary, took time.Duration, err error) {
	if err != nil {
		m.scans.WithLabelValues("error").Inc()
		return
	}
	m.scans.WithLabelValues("ok").Inc()
	m.scanSeconds.Observe(took.Seconds())
	for what, n := range map[string]int{
		"seen": s.Seen, "added": s.Added, "updated": s.Updated, "moved": s.Moved, "missing": s.Missing, "problems": s.Problems,
	} {
		m.scanFiles.WithLabelValues(what).Set(float64(n))
	}
}

// ObserveReload records a configuration reload.
func (m *Metrics) ObserveReload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
}

// scrape is the collector of the values read at scrape time.
type scrape struct{ m *Metrics }

var (
	descViewers      = prometheus.NewDesc(Namespace+"_viewers", "Viewers now, per channel and output.", []string{"channel", "output"}, nil)
	descItemsFailed  = prometheus.NewDesc(Namespace+"_items_failed_total", "Segments of playout items that failed to play (the slate played instead), per channel.", []string{"channel"}, nil)
	descSlateSeconds = prometheus.NewDesc(Namespace+"_slate_seconds_total", "Seconds of slate played in place of failed items, per channel.", []string{"channel"}, nil)
	descLogFailures  = prometheus.NewDesc(Namespace+"_playout_log_write_failures_total", "Failed extensions of the playout log (full disk, database errors), per channel; the channel plays on from what the log holds.", []string{"channel"}, nil)
	descChannels     = prometheus.NewDesc(Namespace+"_channels", "Channels loaded.", nil, nil)
	descCacheBytes   = prometheus.NewDesc(Namespace+"_segment_cache_bytes", "Bytes held by the in-memory HLS segment cache.", nil, nil)
	descCacheEntries = prometheus.NewDesc(Namespace+"_segment_cache_entries", "Segments held by the in-memory HLS segment cache.", nil, nil)
	descEvictions    = prometheus.NewDesc(Namespace+"_segment_cache_evictions_total", "Segments evicted from the in-memory HLS segment cache to stay within its budget.", nil, nil)
	descPrefetched   = prometheus.NewDesc(Namespace+"_segment_prefetches_total", "HLS segment generations started by prefetch.", nil, nil)
	descPrefDropped  = prometheus.NewDesc(Namespace+"_segment_prefetches_dropped_total", "HLS prefetches given up (queue full, cache turning over too fast).", nil, nil)
)

func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descViewers, descItemsFailed, descSlateSeconds, descLogFailures, descChannels,
		descCacheBytes, descCacheEntries, descEvictions, descPrefetched, descPrefDropped,
	} {
		ch <- d
	}
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	s.m.smu.Lock()
	src := s.m.sources
	s.m.smu.Unlock()
	if src.Channels != nil {
		chans := src.Channels()
		ch <- prometheus.MustNewConstMetric(descChannels, prometheus.GaugeValue, float64(len(chans)))
		for _, c := range chans {
			for out, n := range c.Viewers {
				ch <- prometheus.MustNewConstMetric(descViewers, prometheus.GaugeValue, float64(n), c.ID, out)
			}
			ch <- prometheus.MustNewConstMetric(descItemsFailed, prometheus.CounterValue, float64(c.ItemsFailed), c.ID)
			ch <- prometheus.MustNewConstMetric(descSlateSeconds, prometheus.CounterValue, c.SlateSeconds, c.ID)
			ch <- prometheus.MustNewConstMetric(descLogFailures, prometheus.CounterValue, float64(c.LogFailures), c.ID)
		}
	}
	if src.Cache != nil {
		c := src.Cache()
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(c.Bytes))
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(c.Entries))
		ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(c.Evictions))
		ch <- prometheus.MustNewConstMetric(descPrefetched, prometheus.CounterValue, float64(c.Prefetched))
		ch <- prometheus.MustNewConstMetric(descPrefDropped, prometheus.CounterValue, float64(c.PrefetchDropped))
	}
}
