// Player page: /watch/{id} plays a channel with hls.js (or dash.js with
// ?via=dash, or the browser's own HLS where there is no MSE), with channel
// up/down, fullscreen, and what is on.
'use strict';
(() => {
  const { el, api, hm, progress } = onair;
  const video = document.getElementById('video');
  const $ = (id) => document.getElementById(id);
  const via = new URLSearchParams(location.search).get('via') || 'hls';
  let channels = [];
  let current = decodeURIComponent(location.pathname.split('/')[2] || '');
  let player = null;
  // window.onairPlayer is what tests read: the channel, errors, the library used.
  const state = window.onairPlayer = { channel: current, via, errors: [], switches: 0 };

  function stop() {
    if (player) { try { player.destroy ? player.destroy() : player.reset(); } catch (e) { /* gone */ } }
    player = null;
    video.removeAttribute('src');
  }

  function play(id) {
    stop();
    const c = channels.find((x) => x.id === id);
    state.channel = id;
    const hlsURL = (c && c.urls && c.urls.hls) || `/channels/${encodeURIComponent(id)}/master.m3u8`;
    if (via === 'dash' && c && c.urls && c.urls.dash && window.dashjs) {
      player = dashjs.MediaPlayer().create();
      player.initialize(video, c.urls.dash, true);
      player.on('error', (e) => state.errors.push({ fatal: true, type: 'dash', details: String(e.error && e.error.message || e.error) }));
    } else if (window.Hls && Hls.isSupported()) {
      player = new Hls({ liveSyncDurationCount: 3, enableWorker: true });
      player.on(Hls.Events.ERROR, (_, d) => {
        state.errors.push({ fatal: d.fatal, type: d.type, details: d.details });
        if (d.fatal && d.type === Hls.ErrorTypes.MEDIA_ERROR) player.recoverMediaError();
        else if (d.fatal) setTimeout(() => { if (state.channel === id) play(id); }, 2000);
      });
      player.loadSource(hlsURL);
      player.attachMedia(video);
    } else {
      video.src = hlsURL; // Safari, TV browsers with native HLS
    }
    video.play().catch(() => { /* autoplay waits for a gesture */ });
    showInfo();
  }

  function go(id, push) {
    if (!id || id === current) return;
    current = id;
    state.switches++;
    const url = `/watch/${encodeURIComponent(id)}${location.search}`;
    if (push) history.pushState({ id }, '', url); else history.replaceState({ id }, '', url);
    play(id);
  }

  function step(d) {
    if (!channels.length) return;
    const i = channels.findIndex((c) => c.id === current);
    go(channels[(i + d + channels.length) % channels.length].id, true);
  }

  let osdTimer = null;
  function showInfo() {
    const osd = $('osd');
    osd.classList.remove('hide');
    clearTimeout(osdTimer);
    osdTimer = setTimeout(() => osd.classList.add('hide'), 6000);
    paint();
  }

  function paint() {
    const c = channels.find((x) => x.id === current);
    if (!c) return;
    document.title = `${c.number} ${c.name} · onair`;
    $('chan').textContent = `${c.number} ${c.name}`;
    $('logo').src = c.logo || onair.logoURL(c.id);
    const n = c.now, x = c.next;
    $('now-title').textContent = n ? n.title : '—';
    $('now-time').textContent = n ? `${hm(n.start)}–${hm(n.end)}` : '';
    $('now-bar').style.width = n ? `${(progress(n.start, n.end) * 100).toFixed(1)}%` : '0';
    $('next-title').textContent = x ? x.title : '';
    $('next-time').textContent = x ? hm(x.start) : '';
  }

  async function refresh() {
    try {
      const [st, g] = await Promise.all([api('/api/v1/channels'), api(`/api/v1/guide?hours=3&channel=${encodeURIComponent(current)}`).catch(() => null)]);
      const logos = {};
      if (g) for (const gc of g.channels) logos[gc.id] = gc.logo;
      channels = st.channels.slice().sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }))
        .map((c) => Object.assign(c, { logo: logos[c.id] || (channels.find((o) => o.id === c.id) || {}).logo }));
      // The guide's programmes (one per program with its breaks) give the
      // "now" a viewer expects; the status API's now is the item on air.
      const gc = g && g.channels[0];
      const c = channels.find((x) => x.id === current);
      if (gc && c) {
        const t = onair.now();
        const on = gc.programmes.findIndex((p) => Date.parse(p.start) <= t && t < Date.parse(p.end));
        if (on >= 0) {
          c.now = gc.programmes[on];
          c.next = gc.programmes[on + 1] || null;
          const full = (p) => (p && p.sub_title ? Object.assign({}, p, { title: `${p.title}: ${p.sub_title}` }) : p);
          c.now = full(c.now);
          c.next = full(c.next);
        }
        $('later').replaceChildren(...gc.programmes.slice(Math.max(on, 0), Math.max(on, 0) + 6).map((p) =>
          el('div', {}, el('span', { class: 'muted' }, `${hm(p.start)} `), p.title, p.sub_title ? ` — ${p.sub_title}` : '')));
      }
      paint();
    } catch (e) {
      $('state').textContent = `status unavailable: ${e.message}`;
    }
  }

  $('up').addEventListener('click', () => step(1));
  $('down').addEventListener('click', () => step(-1));
  $('unmute').addEventListener('click', () => { video.muted = !video.muted; if (!video.muted) video.play(); });
  $('fullscreen').addEventListener('click', toggleFullscreen);
  function toggleFullscreen() {
    const stage = $('stage');
    if (document.fullscreenElement) document.exitFullscreen();
    else if (stage.requestFullscreen) stage.requestFullscreen().catch(() => video.requestFullscreen && video.requestFullscreen());
  }
  document.addEventListener('keydown', (e) => {
    if (e.target && (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT')) return;
    switch (e.key) {
      case 'ArrowUp': case 'PageUp': case 'ChannelUp': case '+': step(1); break;
      case 'ArrowDown': case 'PageDown': case 'ChannelDown': case '-': step(-1); break;
      case 'f': case 'F': toggleFullscreen(); break;
      case 'm': case 'M': video.muted = !video.muted; break;
      case 'i': case 'Info': case 'Enter': showInfo(); return;
      default: return;
    }
    e.preventDefault();
  });
  video.addEventListener('mousemove', showInfo);
  window.addEventListener('popstate', (e) => {
    const id = (e.state && e.state.id) || decodeURIComponent(location.pathname.split('/')[2] || '');
    if (id && id !== current) { current = id; play(id); }
  });
  setInterval(() => {
    $('state').textContent = video.readyState >= 3 ? `playing · ${onair.dur(video.currentTime)}` : (video.paused ? 'paused' : 'loading…');
    paint();
  }, 1000);

  refresh().then(() => {
    if (!current && channels.length) current = channels[0].id;
    if (current) play(current);
  });
  setInterval(refresh, 10000);
})();
