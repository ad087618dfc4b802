// Channels page: every channel with what is on now (and its progress) and next.
'use strict';
(() => {
  const { el, api, hm, progress, setMsg } = onair;
  const list = document.getElementById('channels');
  let logos = {};
  let channels = [];

  function titleOf(p) { return p ? p.title || p.asset || p.kind : ''; }

  function render() {
    list.replaceChildren(...channels.map((c) => {
      const now = c.now, next = c.next;
      const fill = el('div', { class: 'fill' });
      fill.dataset.start = now ? now.start : '';
      fill.dataset.end = now ? now.end : '';
      return el('li', {}, el('a', { href: `/watch/${encodeURIComponent(c.id)}`, 'data-channel': c.id },
        el('img', { src: logos[c.id] || onair.logoURL(c.id), alt: '', loading: 'lazy' }),
        el('div', { class: 'chan-name' }, el('span', { class: 'num' }, c.number), c.name,
          c.override ? el('span', { class: 'badge live' }, 'override') : null,
          c.viewers_total ? el('span', { class: 'badge' }, `${c.viewers_total} watching`) : null),
        el('div', { class: 'now-title' }, now ? `${hm(now.start)} ${titleOf(now)}` : 'Nothing scheduled'),
        el('div', {}, el('div', { class: 'bar' }, fill),
          el('div', { class: 'next' }, next ? `Next ${hm(next.start)} ${titleOf(next)}` : ''))));
    }));
    tick();
  }

  function tick() {
    for (const f of list.querySelectorAll('.fill')) {
      f.style.width = `${(progress(f.dataset.start, f.dataset.end) * 100).toFixed(1)}%`;
    }
  }

  async function load() {
    try {
      const [st, guide] = await Promise.all([api('/api/v1/channels'), logosOnce()]);
      channels = st.channels.slice().sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }));
      setMsg(channels.length ? '' : 'No channels yet: add a channel file to channels.d.');
      render();
      void guide;
    } catch (e) {
      setMsg(`Cannot load the channels: ${e.message}`);
    }
  }

  // The guide API knows each channel's logo URL (a file, a URL or the
  // generated one); read it once.
  let logosLoaded = false;
  async function logosOnce() {
    if (logosLoaded) return;
    try {
      const g = await api('/api/v1/guide?hours=1');
      for (const c of g.channels) logos[c.id] = c.logo;
      logosLoaded = true;
    } catch (e) { /* the generated logo URL is a fine default */ }
  }

  load();
  setInterval(load, 10000);
  setInterval(tick, 1000);
})();
