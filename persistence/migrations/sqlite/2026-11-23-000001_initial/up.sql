-- Registry and billing data used by the local (table-backed) adapters in development, and the
-- applications with their timeline. Times are UTC, stored without a zone (see schema.rs).

CREATE TABLE citizens (
    pin TEXT PRIMARY KEY CHECK (length(pin) = 7),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    patronymic TEXT,
    birth_date DATE NOT NULL,
    registered_address TEXT NOT NULL
);

CREATE TABLE businesses (
    tin TEXT PRIMARY KEY CHECK (length(tin) = 10),
    name TEXT NOT NULL
);

CREATE TABLE business_representatives (
    tin TEXT NOT NULL REFERENCES businesses (tin) ON DELETE CASCADE,
    pin TEXT NOT NULL REFERENCES citizens (pin),
    PRIMARY KEY (tin, pin)
);

CREATE TABLE subscriber_accounts (
    code TEXT PRIMARY KEY,
    holder_pin TEXT NOT NULL REFERENCES citizens (pin),
    holder_first_name TEXT NOT NULL,
    holder_last_name TEXT NOT NULL,
    address TEXT NOT NULL,
    district_code TEXT NOT NULL,
    -- The real-estate registry number of the supplied property, when billing knows it.
    property_registry_number TEXT,
    debt_qapik BIGINT NOT NULL,
    debt_as_of TIMESTAMP NOT NULL
);
CREATE INDEX subscriber_accounts_holder ON subscriber_accounts (holder_pin);

CREATE TABLE head_codes (
    code TEXT PRIMARY KEY,
    tin TEXT NOT NULL REFERENCES businesses (tin),
    contract_name TEXT NOT NULL,
    address TEXT NOT NULL,
    district_code TEXT NOT NULL
);
CREATE INDEX head_codes_tin ON head_codes (tin);

CREATE TABLE metering_points (
    code TEXT PRIMARY KEY,
    head_code TEXT NOT NULL REFERENCES head_codes (code),
    address TEXT NOT NULL,
    meter_number TEXT NOT NULL
);
CREATE INDEX metering_points_head_code ON metering_points (head_code);

CREATE TABLE properties (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    district_code TEXT NOT NULL,
    registry_number TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    property_type TEXT NOT NULL CHECK (property_type IN ('private-house', 'apartment')),
    address TEXT NOT NULL,
    UNIQUE (district_code, registry_number, registration_number)
);

CREATE TABLE property_owners (
    property_id BIGINT NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    pin TEXT NOT NULL REFERENCES citizens (pin),
    PRIMARY KEY (property_id, pin)
);

-- The company's departments and the districts each serves, by kind of application.
CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('meter-damage-investigation', 'account-change'))
);

CREATE TABLE department_districts (
    department_code TEXT NOT NULL REFERENCES departments (code) ON DELETE CASCADE,
    district_code TEXT NOT NULL,
    PRIMARY KEY (department_code, district_code)
);

-- One counter per number prefix and year; the row lock of the UPDATE makes numbers unique
-- across service instances.
CREATE TABLE application_number_sequences (
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('meter-damage-investigation', 'account-change')),
    status TEXT NOT NULL,
    applicant_pin TEXT NOT NULL,
    applicant_tin TEXT,
    login_method TEXT NOT NULL,
    subscriber_type TEXT CHECK (subscriber_type IN ('residential', 'non-residential')),
    subscriber_code TEXT,
    head_code TEXT,
    metering_point_code TEXT,
    damage_description TEXT,
    change_variant TEXT CHECK (change_variant IN ('transfer', 'name-change')),
    property_district_code TEXT,
    property_registry_number TEXT,
    property_registration_number TEXT,
    property_type TEXT CHECK (property_type IN ('private-house', 'apartment')),
    debt_qapik BIGINT,
    debt_as_of TIMESTAMP,
    debt_checked_at TIMESTAMP,
    mobile_numbers TEXT,
    email TEXT,
    -- The target key while the application is open, NULL otherwise: the unique index below is
    -- the last guard of "one open application per kind and target".
    open_target TEXT,
    -- The company's side: routing, assignment, due time, and the outcome.
    district_code TEXT,
    department_code TEXT,
    assignee TEXT,
    due_at TIMESTAMP,
    visit_date DATE,
    visit_from TIME,
    visit_to TIME,
    damage_found BOOLEAN,
    damage_cause TEXT,
    act_number TEXT,
    meter_readings TEXT,
    result_text TEXT,
    rejection_reason TEXT,
    correction_steps TEXT,
    correction_request TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX applications_one_open_per_target ON applications (kind, open_target);
CREATE INDEX applications_by_applicant ON applications (applicant_pin, id DESC);
-- The inbox holds submitted applications only (submitted_at set): a department's or all, with
-- or without a status, oldest first or by due time; and the overdue ones.
CREATE INDEX applications_inbox_by_submission ON applications (department_code, status, submitted_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_inbox_by_due ON applications (department_code, status, due_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_department_by_submission ON applications (department_code, submitted_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_department_by_due ON applications (department_code, due_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_all_by_status ON applications (status, submitted_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_all_by_submission ON applications (submitted_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_all_by_due ON applications (due_at, id)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_by_district ON applications (district_code, submitted_at)
    WHERE submitted_at IS NOT NULL;
CREATE INDEX applications_by_assignee ON applications (assignee, submitted_at)
    WHERE submitted_at IS NOT NULL;

CREATE TABLE application_timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX application_timeline_by_application ON application_timeline (application_id, id);

-- The documents an application produced (the account change confirmation, the inspection result).
CREATE TABLE application_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id BIGINT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('account-change-confirmation', 'inspection-result')),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX application_documents_by_application ON application_documents (application_id, id);

-- Timeline entries are history: never changed, never removed.
CREATE TRIGGER application_timeline_no_update BEFORE UPDATE ON application_timeline
BEGIN
    SELECT RAISE(ABORT, 'application timeline entries are never changed or removed');
END;

CREATE TRIGGER application_timeline_no_delete BEFORE DELETE ON application_timeline
BEGIN
    SELECT RAISE(ABORT, 'application timeline entries are never changed or removed');
END;
