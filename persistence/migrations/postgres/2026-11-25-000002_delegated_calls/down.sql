DROP TRIGGER delegated_calls_append_only ON delegated_calls;
DROP FUNCTION delegated_calls_are_append_only();
DROP TABLE delegated_calls;
