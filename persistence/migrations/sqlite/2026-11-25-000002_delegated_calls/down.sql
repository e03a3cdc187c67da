DROP TRIGGER delegated_calls_no_delete;
DROP TRIGGER delegated_calls_no_update;
DROP TABLE delegated_calls;
