DROP TRIGGER application_counts_on_delete ON applications;
DROP TRIGGER application_counts_on_update ON applications;
DROP TRIGGER application_counts_on_insert ON applications;
DROP FUNCTION application_counts_follow();
DROP TABLE application_counts;
