-- 0002: the planner state after an item that ends a planner step, so the
-- unpublished future can be rebuilt from a step boundary.
ALTER TABLE playout_items ADD COLUMN step_state TEXT NOT NULL DEFAULT '';
