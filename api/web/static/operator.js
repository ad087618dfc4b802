// Operator page: each channel's status (on air, errors, viewers, analyzer
// counters when the status has them) and its emergency override.
'use strict';
(() => {
  const { el, api, hm, setMsg } = onair;
  const box = document.getElementById('ops');
  const tokenInput = document.getElementById('token');
  tokenInput.value = localStorage.getItem('onair.adminToken') || '';
  document.getElementById('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    localStorage.setItem('onair.adminToken', tokenInput.value.trim());
    load();
  });
  let assets = [];
  const busy = new Set(); // channels whose form is being used: not redrawn

  function headers() {
    const h = { 'Content-Type': 'application/json', Accept: 'application/json' };
    const t = localStorage.getItem('onair.adminToken');
    if (t) h.Authorization = `Bearer ${t}`;
    return h;
  }

  function counters(obj) {
    return el('span', {}, Object.entries(obj || {}).map(([k, v]) => `${k.replace(/_/g, ' ')} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ') || '—');
  }

  function card(c, all) {
    const result = el('div', { class: 'result muted' });
    const asset = el('select', { name: 'asset' }, el('option', { value: '' }, '— asset —'),
      assets.map((a) => el('option', { value: String(a.id) }, `${a.kind}: ${a.show ? a.show + ' – ' : ''}${a.title}`)));
    const relay = el('select', { name: 'channel' }, el('option', { value: '' }, '— or relay a channel —'),
      all.filter((o) => o.id !== c.id).map((o) => el('option', { value: o.id }, `${o.number} ${o.name}`)));
    const duration = el('input', { name: 'duration', placeholder: 'until cleared', size: 10 });
    const resume = el('select', { name: 'resume' }, el('option', { value: 'join' }, 'join'), el('option', { value: 'catchup' }, 'catch up'));
    const title = el('input', { name: 'title', placeholder: 'title', size: 14 });
    const form = el('form', {
      onfocusin: () => busy.add(c.id), onfocusout: () => busy.delete(c.id),
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { duration: duration.value.trim(), resume: resume.value, title: title.value.trim() };
        if (asset.value) body.asset = asset.value; else if (relay.value) body.channel = relay.value;
        try {
          await api(`/api/v1/channels/${encodeURIComponent(c.id)}/override`, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
          result.textContent = 'Override started.';
          busy.delete(c.id);
          load();
        } catch (err) { result.textContent = `Override refused: ${err.message}`; }
      },
    },
    el('label', {}, 'Asset', asset), el('label', {}, 'Relay', relay), el('label', {}, 'Duration', duration),
    el('label', {}, 'Resume', resume), el('label', {}, 'Title', title),
    el('button', { type: 'submit' }, 'Start override'),
    c.override ? el('button', {
      type: 'button', class: 'danger',
      onclick: async () => {
        try {
          await api(`/api/v1/channels/${encodeURIComponent(c.id)}/override`, { method: 'DELETE', headers: headers() });
          result.textContent = 'Override cleared.';
          load();
        } catch (err) { result.textContent = `Clear refused: ${err.message}`; }
      },
    }, 'Clear override') : null);

    const healthy = c.errors.length === 0;
    const ov = c.override;
    return el('article', { class: 'op', 'data-channel': c.id },
      el('h2', {}, `${c.number} ${c.name}`,
        el('span', { class: `badge ${c.now ? 'live' : 'bad'}` }, c.now ? 'on air' : 'off air'),
        el('span', { class: `badge ${healthy ? 'ok' : 'warn'}` }, healthy ? 'no errors' : `${c.errors.length} errors`),
        ov ? el('span', { class: 'badge live' }, 'override') : null),
      el('dl', {},
        el('dt', {}, 'Now'), el('dd', {}, c.now ? `${c.now.kind} · ${c.now.title} (${hm(c.now.start)}–${hm(c.now.end)})` : '—'),
        el('dt', {}, 'Next'), el('dd', {}, c.next ? `${hm(c.next.start)} ${c.next.kind} · ${c.next.title}` : '—'),
        el('dt', {}, 'Viewers'), el('dd', {}, `${c.viewers_total} `, counters(c.viewers)),
        el('dt', {}, 'Slate'), el('dd', {}, `${c.slate_segments} segments`),
        el('dt', {}, 'Log ends'), el('dd', {}, c.log_ends ? new Date(c.log_ends).toLocaleString() : '—'),
        c.analyzer ? [el('dt', {}, 'Analyzer'), el('dd', {}, counters(c.analyzer))] : null,
        ov ? [el('dt', {}, 'Override'), el('dd', {}, `${ov.title || ov.source || ''} ${ov.start ? hm(ov.start) : ''}–${ov.end ? hm(ov.end) : 'until cleared'}`)] : null,
        el('dt', {}, 'Streams'), el('dd', { class: 'small' }, Object.entries(c.urls || {}).map(([k, u]) => el('a', { href: u }, k, ' '))),
      ),
      c.errors.length ? el('ul', { class: 'errors' }, c.errors.slice(-5).reverse().map((e) => el('li', {}, `${hm(e.time)} item ${e.item}: ${e.message}`))) : null,
      form, result);
  }

  async function load() {
    try {
      const st = await api('/api/v1/channels');
      if (!assets.length) {
        try { assets = (await api('/api/v1/library?status=ok')).assets.filter((a) => a.kind !== 'slate'); } catch (e) { /* no list: relay only */ }
      }
      const all = st.channels.slice().sort((a, b) => a.number.localeCompare(b.number, undefined, { numeric: true }));
      setMsg(all.length ? '' : 'No channels.');
      const old = new Map([...box.querySelectorAll('article.op')].map((a) => [a.dataset.channel, a]));
      const cards = all.map((c) => (busy.has(c.id) && old.get(c.id)) || card(c, all));
      box.replaceChildren(el('div', { class: 'ops' }, cards));
    } catch (e) {
      setMsg(`Cannot load the channels: ${e.message}`);
    }
  }
  load();
  setInterval(load, 5000);
})();
