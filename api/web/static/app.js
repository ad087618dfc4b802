// onair web app: shared helpers. Every page reads the JSON API of the same
// origin; nothing is fetched from anywhere else.
'use strict';

const onair = (() => {
  // el builds an element: el('a', {href: '/x', class: 'y'}, 'text', child...).
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids.flat()) {
      if (k === undefined || k === null || k === false) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  // api GETs (or sends) a JSON API path and returns the decoded body;
  // errors carry the server's message.
  async function api(path, opts) {
    const r = await fetch(path, Object.assign({ headers: { Accept: 'application/json' } }, opts || {}));
    const text = await r.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: text }; }
    if (!r.ok) throw new Error((body && body.error) || `${r.status} ${r.statusText}`);
    return body;
  }

  // Server clock: the offset of /api/v1/time from this device's clock, so
  // progress bars agree with the channel even when the device clock is off.
  let skew = 0;
  async function syncClock() {
    try {
      const t0 = Date.now();
      const r = await fetch('/api/v1/time', { cache: 'no-store' });
      const t1 = Date.now();
      const server = Date.parse((await r.text()).trim());
      if (!Number.isNaN(server)) skew = server - (t0 + t1) / 2;
    } catch (e) { /* keep the device clock */ }
  }
  const now = () => Date.now() + skew;

  const hm = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  function dur(sec) {
    sec = Math.max(0, Math.round(sec));
    const h = Math.floor(sec / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    return h ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
  }
  // progress is how far now is into [start, end), 0..1.
  function progress(start, end) {
    const a = Date.parse(start), b = Date.parse(end);
    if (!(b > a)) return 0;
    return Math.min(1, Math.max(0, (now() - a) / (b - a)));
  }
  function setMsg(text) {
    const m = document.getElementById('msg');
    if (!m) return;
    m.textContent = text || '';
    m.hidden = !text;
  }
  const logoURL = (id) => `/iptv/logos/${encodeURIComponent(id)}.png`;

  // Header: the active page and the clock.
  const page = document.body.dataset.page;
  for (const a of document.querySelectorAll('nav a')) if (a.dataset.nav === page) a.classList.add('active');
  const clock = document.getElementById('clock');
  const tick = () => { if (clock) clock.textContent = new Date(now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }); };
  tick();
  setInterval(tick, 1000);
  syncClock().then(tick);

  return { el, api, now, hm, dur, progress, setMsg, logoURL, syncClock };
})();
