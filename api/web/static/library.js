// Library page: the assets, and the unplayable ones with their reasons first.
'use strict';
(() => {
  const { el, api, dur, setMsg } = onair;
  const kind = document.getElementById('kind');
  const status = document.getElementById('status');
  for (const k of ['program', 'episode', 'movie', 'ad', 'bumper', 'promo', 'filler', 'slate']) kind.append(el('option', {}, k));
  const params = new URLSearchParams(location.search);
  kind.value = params.get('kind') || '';
  status.value = params.get('status') || '';

  function episode(a) {
    if (!a.episode) return '';
    return a.season ? `S${String(a.season).padStart(2, '0')}E${String(a.episode).padStart(2, '0')}` : `E${a.episode}`;
  }
  function video(a) {
    const v = a.video;
    return v ? `${v.codec}${v.profile ? ' ' + v.profile : ''} ${v.width}×${v.height} ${v.frame_rate}` : '—';
  }
  function audio(a) {
    const x = a.audio;
    return x ? `${x.codec} ${x.sample_rate / 1000} kHz ${x.channels}ch` : '—';
  }
  const badge = (s) => el('span', { class: `badge ${s === 'ok' ? 'ok' : s === 'missing' ? 'warn' : 'bad'}` }, s);

  async function load() {
    const q = new URLSearchParams();
    if (kind.value) q.set('kind', kind.value);
    if (status.value) q.set('status', status.value);
    history.replaceState(null, '', q.toString() ? `?${q}` : location.pathname);
    try {
      const { assets } = await api(`/api/v1/library${q.toString() ? '?' + q : ''}`);
      setMsg(assets.length ? `${assets.length} assets` : 'No assets match.');
      const bad = assets.filter((a) => a.status !== 'ok');
      const sec = document.getElementById('unplayable');
      sec.className = bad.length ? 'unplayable' : '';
      sec.replaceChildren(...(bad.length ? [
        el('h2', {}, `${bad.length} cannot play`),
        el('ul', {}, bad.map((a) => el('li', { 'data-asset': a.id }, badge(a.status), ' ', el('b', {}, a.path.split('/').pop()), ` — ${a.reason || 'no reason given'}`))),
      ] : []));
      const order = (a) => (a.status === 'ok' ? 1 : 0);
      assets.sort((a, b) => order(a) - order(b) || a.kind.localeCompare(b.kind) || (a.show || '').localeCompare(b.show || '') ||
        (a.season - b.season) || (a.episode - b.episode) || a.title.localeCompare(b.title));
      document.getElementById('assets').replaceChildren(...assets.map((a) => el('tr', { 'data-asset': a.id },
        el('td', {}, a.kind),
        el('td', {}, el('div', {}, a.show ? `${a.show} – ${a.title}` : a.title), el('div', { class: 'path' }, a.path)),
        el('td', {}, episode(a)),
        el('td', {}, dur(a.duration_seconds)),
        el('td', { class: 'opt' }, video(a)),
        el('td', { class: 'opt' }, audio(a)),
        el('td', {}, badge(a.status), a.reason ? el('div', { class: 'small muted' }, a.reason) : null),
      )));
    } catch (e) {
      setMsg(`Cannot load the library: ${e.message}`);
    }
  }
  kind.addEventListener('change', load);
  status.addEventListener('change', load);
  load();
})();
