// Guide page: a grid of the coming hours, one row per channel, from
// /api/v1/guide (the same programmes as the XMLTV guide).
'use strict';
(() => {
  const { el, api, hm, now, setMsg } = onair;
  const box = document.getElementById('guide');
  const HOURS = 6;
  const SLOT = 30 * 60 * 1000; // a time mark every 30 minutes

  function pxPerMs(g) {
    // About 12rem per half hour on a TV, less on a phone; wider when the
    // programmes are short, so a typical one shows its title.
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const ds = g.channels.flatMap((c) => c.programmes.map((p) => Date.parse(p.end) - Date.parse(p.start))).sort((a, b) => a - b);
    const median = ds.length ? ds[Math.floor(ds.length / 2)] : SLOT;
    return Math.max((window.innerWidth < 640 ? 8 : 12) * rem / SLOT, Math.min(9 * rem / median, 900 * rem / SLOT));
  }

  function render(g) {
    const scale = pxPerMs(g);
    const headW = box.querySelector('.g-head') ? box.querySelector('.g-head').offsetWidth : 0;
    // Time marks at least 8rem apart: every 1, 5, 10, 15 or 30 minutes; the
    // grid from the mark before now to the end of the last programme.
    const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
    const step = [1, 5, 10, 15, 30].map((m) => m * 60000).find((ms) => ms * scale >= 8 * rem) || SLOT;
    const t0 = Math.floor(now() / step) * step;
    const ends = g.channels.flatMap((c) => c.programmes.map((p) => Date.parse(p.end)));
    const t1 = Math.min(t0 + HOURS * 3600 * 1000, Math.max(t0 + step, ...ends));
    const x = (t) => (t - t0) * scale;
    const width = x(t1);

    const times = el('div', { class: 'g-times' }, el('div', { class: 'g-head' }, el('span', {}, 'Channel')));
    const rows = [];
    for (let t = t0; t < t1; t += step) {
      const m = el('div', { class: 'g-time' }, hm(t));
      m.dataset.x = x(t);
      times.append(m);
    }
    for (const c of g.channels) {
      const row = el('div', { class: 'g-row', 'data-channel': c.id },
        el('a', { class: 'g-head', href: `/watch/${encodeURIComponent(c.id)}` },
          el('img', { src: c.logo, alt: '' }), el('span', {}, `${c.number} ${c.name}`)));
      for (const p of c.programmes) {
        const a = Math.max(Date.parse(p.start), t0), b = Math.min(Date.parse(p.end), t1);
        if (b <= a) continue;
        const on = Date.parse(p.start) <= now() && now() < Date.parse(p.end);
        const cls = `g-prog${on ? ' on' : ''}${p.kind === 'program' || p.kind === 'override' ? '' : ' inter'}`;
        const box2 = el('a', {
          class: cls, href: `/watch/${encodeURIComponent(c.id)}`,
          title: `${hm(p.start)}–${hm(p.end)} ${p.title}${p.sub_title ? ': ' + p.sub_title : ''}${p.description ? '\n' + p.description : ''}`,
        }, p.title, p.sub_title ? el('span', { class: 'sub' }, p.sub_title) : el('span', { class: 'sub' }, `${hm(p.start)}–${hm(p.end)}`));
        box2.dataset.x = x(a);
        box2.dataset.w = x(b) - x(a);
        row.append(box2);
      }
      rows.push(row);
    }
    const line = el('div', { class: 'g-nowline', id: 'nowline' });
    const inner = el('div', { class: 'g-inner' }, times, ...rows, line);
    box.replaceChildren(inner);
    // Positions are set through the CSSOM (the page's CSP allows no inline styles).
    const head = box.querySelector('.g-head').offsetWidth || headW;
    inner.style.width = `${head + width}px`;
    for (const n of inner.querySelectorAll('[data-x]')) {
      n.style.left = `${head + Number(n.dataset.x)}px`;
      if (n.dataset.w) n.style.width = `${Math.max(2, Number(n.dataset.w) - 2)}px`;
    }
    const placeLine = () => { line.style.left = `${head + x(now())}px`; };
    placeLine();
    clearInterval(render.timer);
    render.timer = setInterval(placeLine, 15000);
  }

  let last = null;
  async function load() {
    try {
      last = await api(`/api/v1/guide?hours=${HOURS}`);
      setMsg(last.channels.length ? '' : 'No channels yet.');
      render(last);
    } catch (e) {
      setMsg(`Cannot load the guide: ${e.message}`);
    }
  }
  load();
  setInterval(load, 60000);
  window.addEventListener('resize', () => { if (last) render(last); });
})();
