-- 0003: read every NAME.meta.yaml again at the next scan. Before 0002 a
-- rating or description key was an unknown key (a warning, the key ignored);
-- a sidecar unchanged since then would otherwise keep its old reading.
UPDATE assets SET sidecar_sig = '';
