-- Row triggers do not see TRUNCATE: the audit tables refuse it too.
CREATE TRIGGER personal_data_reads_no_truncate
    BEFORE TRUNCATE ON personal_data_reads
    FOR EACH STATEMENT EXECUTE FUNCTION personal_data_reads_are_append_only();
CREATE TRIGGER delegated_calls_no_truncate
    BEFORE TRUNCATE ON delegated_calls
    FOR EACH STATEMENT EXECUTE FUNCTION delegated_calls_are_append_only();
CREATE TRIGGER application_timeline_no_truncate
    BEFORE TRUNCATE ON application_timeline
    FOR EACH STATEMENT EXECUTE FUNCTION application_timeline_is_append_only();
