-- 0002: content rating and description from NAME.meta.yaml, for channel pools
-- (pools by rating) and the guide (XMLTV descriptions).
ALTER TABLE assets ADD COLUMN rating TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN description TEXT NOT NULL DEFAULT '';
