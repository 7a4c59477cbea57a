-- Placeholder: number 0010 belongs to another branch (issue 14); this file keeps the numbering
-- gap-free on the security branch only. The lead drops it at merge.
SELECT 1;
