-- The benchmark's data set, loaded after the migrations and the demo seed (which brings the
-- departments and the districts each serves). {applications} applications of both kinds, spread
-- over three years, statuses, districts and applicants as a live system's history would be: most
-- finished, a few in each open status. {submitters} more people have four subscriber accounts each
-- and no application yet: the submission scenario takes a fresh account for every request.
-- Deterministic: the same size gives the same data.
SELECT setseed(0.4242);

CREATE TEMP TABLE bench_names (i INT PRIMARY KEY, first_name TEXT, last_name TEXT);
INSERT INTO bench_names VALUES
  (0, 'Rəşad', 'Məmmədov'), (1, 'Aynur', 'Əliyeva'), (2, 'Elvin', 'Hüseynov'),
  (3, 'Günel', 'Quliyeva'), (4, 'Orxan', 'Həsənov'), (5, 'Səbinə', 'İsmayılova'),
  (6, 'Tural', 'Cəfərov'), (7, 'Nərmin', 'Rəhimova');

-- People with a history: one per four applications.
INSERT INTO citizens (pin, first_name, last_name, patronymic, birth_date, registered_address)
SELECT 'B' || lpad(n::text, 6, '0'), nm.first_name, nm.last_name, NULL,
       date '1950-01-01' + (n % 18000), 'Bakı şəhəri, Nəsimi rayonu, ' || n || ' saylı ev'
FROM generate_series(1, {citizens}) n JOIN bench_names nm ON nm.i = n % 8;

-- The districts applications come from, with the department that serves each, by kind.
CREATE TEMP TABLE bench_routes AS
SELECT row_number() OVER (PARTITION BY d.kind ORDER BY dd.district_code) - 1 AS k,
       d.kind, dd.district_code, dd.department_code
FROM department_districts dd JOIN departments d ON d.code = dd.department_code;
CREATE TEMP TABLE bench_route_counts AS
SELECT kind, count(*) AS n FROM bench_routes GROUP BY kind;

-- Two accounts each.
INSERT INTO subscriber_accounts (code, holder_pin, holder_first_name, holder_last_name, address,
                                 district_code, property_registry_number, debt_qapik, debt_as_of)
SELECT '2' || lpad((n * 2 + a)::text, 9, '0'), c.pin, c.first_name, c.last_name,
       c.registered_address, r.district_code, NULL,
       CASE WHEN n % 10 = 0 THEN 1250 ELSE 0 END, timestamp '2026-11-01 00:00:00'
FROM generate_series(1, {citizens}) n
CROSS JOIN generate_series(0, 1) a
JOIN citizens c ON c.pin = 'B' || lpad(n::text, 6, '0')
JOIN bench_routes r ON r.kind = 'meter-damage-investigation'
 AND r.k = (n * 7 + a) % (SELECT b.n FROM bench_route_counts b WHERE b.kind = 'meter-damage-investigation');

-- The submitters: four accounts each, no debt, no application.
INSERT INTO citizens (pin, first_name, last_name, patronymic, birth_date, registered_address)
SELECT 'S' || lpad(n::text, 6, '0'), nm.first_name, nm.last_name, NULL,
       date '1960-01-01' + (n % 15000), 'Sumqayıt şəhəri, ' || n || ' saylı ev'
FROM generate_series(1, {submitters}) n JOIN bench_names nm ON nm.i = n % 8;
INSERT INTO subscriber_accounts (code, holder_pin, holder_first_name, holder_last_name, address,
                                 district_code, property_registry_number, debt_qapik, debt_as_of)
SELECT '3' || lpad((n * 4 + a)::text, 9, '0'), c.pin, c.first_name, c.last_name,
       c.registered_address, r.district_code, NULL, 0, timestamp '2026-11-01 00:00:00'
FROM generate_series(1, {submitters}) n
CROSS JOIN generate_series(0, 3) a
JOIN citizens c ON c.pin = 'S' || lpad(n::text, 6, '0')
JOIN bench_routes r ON r.kind = 'meter-damage-investigation'
 AND r.k = (n * 5 + a) % (SELECT b.n FROM bench_route_counts b WHERE b.kind = 'meter-damage-investigation');

-- The applications: who (skewed: some people apply often), which kind, which status, when.
CREATE TEMP TABLE bench_rows AS
SELECT i,
       1 + floor({citizens} * power(random(), 1.3))::int AS citizen,
       CASE WHEN random() < 0.7 THEN 'meter-damage-investigation' ELSE 'account-change' END AS kind,
       random() AS r_status, random() AS r_route, random() AS r_time
FROM generate_series(1, {applications}) i;

CREATE TEMP TABLE bench_apps AS
SELECT b.*,
       CASE
         WHEN b.kind = 'meter-damage-investigation' THEN
           CASE WHEN r_status < 0.02 THEN 'draft' WHEN r_status < 0.04 THEN 'submitted'
                WHEN r_status < 0.055 THEN 'accepted' WHEN r_status < 0.07 THEN 'inspection-scheduled'
                WHEN r_status < 0.08 THEN 'inspected' WHEN r_status < 0.085 THEN 'returned-for-correction'
                WHEN r_status < 0.885 THEN 'completed' WHEN r_status < 0.965 THEN 'rejected'
                ELSE 'cancelled' END
         ELSE
           CASE WHEN r_status < 0.02 THEN 'draft' WHEN r_status < 0.04 THEN 'submitted'
                WHEN r_status < 0.06 THEN 'under-review' WHEN r_status < 0.07 THEN 'returned-for-correction'
                WHEN r_status < 0.89 THEN 'approved' WHEN r_status < 0.97 THEN 'rejected'
                ELSE 'cancelled' END
       END AS status
FROM bench_rows b;

CREATE TEMP TABLE bench_timed AS
SELECT a.*,
       a.status NOT IN ('completed', 'approved', 'rejected', 'cancelled') AS open,
       -- Open applications are recent; finished ones spread over three years.
       date_trunc('second', timestamp '2026-11-30 12:00:00' - CASE
         WHEN a.status NOT IN ('completed', 'approved', 'rejected', 'cancelled')
           THEN interval '30 days' * a.r_time
         ELSE interval '1095 days' * a.r_time + interval '30 days' END) AS created,
       r.district_code, r.department_code
FROM bench_apps a
JOIN bench_route_counts rc ON rc.kind = a.kind
JOIN bench_routes r ON r.kind = a.kind AND r.k = floor(a.r_route * rc.n)::int;

CREATE TEMP TABLE bench_numbered AS
SELECT t.*,
       CASE WHEN t.kind = 'meter-damage-investigation' THEN 'MD' ELSE 'AC' END AS prefix,
       extract(year FROM t.created)::int AS year,
       row_number() OVER (PARTITION BY t.kind, extract(year FROM t.created) ORDER BY t.created, t.i) AS seq,
       -- An open application holds its target: a code of its own, so targets stay unique.
       CASE WHEN t.open THEN '4' || lpad(t.i::text, 9, '0')
            ELSE '2' || lpad((t.citizen * 2 + t.i % 2)::text, 9, '0') END AS code
FROM bench_timed t;

INSERT INTO applications (
    number, kind, status, applicant_pin, applicant_tin, login_method, subscriber_type,
    subscriber_code, head_code, metering_point_code, damage_description, change_variant,
    property_district_code, property_registry_number, property_registration_number, property_type,
    debt_qapik, debt_as_of, debt_checked_at, mobile_numbers, email, open_target,
    district_code, department_code, assignee, due_at, visit_date, visit_from, visit_to,
    damage_found, damage_cause, act_number, meter_readings, result_text, rejection_reason,
    correction_steps, correction_request, decided_at, created_at, updated_at, submitted_at, version)
SELECT
    n.prefix || '-' || n.year || '-' || lpad(n.seq::text, 6, '0'),
    n.kind, n.status, 'B' || lpad(n.citizen::text, 6, '0'), NULL,
    (ARRAY['asan-imza', 'e-signature', 'password'])[1 + n.i % 3],
    CASE WHEN n.kind = 'meter-damage-investigation' THEN 'residential' END,
    n.code, NULL, NULL,
    CASE WHEN n.kind = 'meter-damage-investigation' THEN 'Sayğacın şüşəsi sınıb, göstəricilər oxunmur.' END,
    CASE WHEN n.kind = 'account-change' THEN (ARRAY['transfer', 'name-change'])[1 + n.i % 2] END,
    CASE WHEN n.kind = 'account-change' THEN n.district_code END,
    CASE WHEN n.kind = 'account-change' THEN '1100' || lpad(n.i::text, 8, '0') END,
    CASE WHEN n.kind = 'account-change' THEN 'QN-' || n.i END,
    CASE WHEN n.kind = 'account-change' THEN (ARRAY['private-house', 'apartment'])[1 + n.i % 2] END,
    CASE WHEN n.kind = 'account-change' AND n.status <> 'draft' THEN 0::bigint END,
    CASE WHEN n.kind = 'account-change' AND n.status <> 'draft' THEN timestamp '2026-11-01 00:00:00' END,
    CASE WHEN n.kind = 'account-change' AND n.status <> 'draft' THEN n.created END,
    '+99450' || lpad((n.i % 10000000)::text, 7, '0'),
    'abonent' || n.citizen || '@example.az',
    CASE WHEN n.open THEN 'subscriber:' || n.code END,
    CASE WHEN n.status <> 'draft' THEN n.district_code END,
    CASE WHEN n.status <> 'draft' THEN n.department_code END,
    CASE WHEN n.status IN ('accepted', 'inspection-scheduled', 'inspected', 'completed', 'under-review', 'approved')
         THEN 'operator-' || n.department_code || '-' || (n.i % 5) END,
    CASE WHEN n.status <> 'draft' THEN n.created + interval '14 days' END,
    CASE WHEN n.status IN ('inspection-scheduled', 'inspected', 'completed') THEN (n.created + interval '3 days')::date END,
    CASE WHEN n.status IN ('inspection-scheduled', 'inspected', 'completed') THEN time '10:00' END,
    CASE WHEN n.status IN ('inspection-scheduled', 'inspected', 'completed') THEN time '12:00' END,
    CASE WHEN n.status IN ('inspected', 'completed') THEN n.i % 4 <> 0 END,
    CASE WHEN n.status IN ('inspected', 'completed') AND n.i % 4 <> 0 THEN
         (ARRAY['mechanical-damage', 'broken-seal', 'burnout', 'overvoltage', 'wear-and-tear'])[1 + n.i % 5] END,
    CASE WHEN n.status IN ('inspected', 'completed') THEN 'AKT-' || n.i END,
    CASE WHEN n.status IN ('inspected', 'completed') THEN 'T1=' || (n.i % 90000) || ';T2=' || (n.i % 40000) END,
    CASE WHEN n.status IN ('completed', 'approved') THEN 'Müraciət icra olundu.' END,
    CASE WHEN n.status = 'rejected' THEN 'Müraciət əsassızdır.' END,
    CASE WHEN n.status = 'returned-for-correction' THEN 'contact' END,
    CASE WHEN n.status = 'returned-for-correction' THEN 'Mobil nömrəni yoxlayın.' END,
    CASE WHEN n.status IN ('completed', 'approved', 'rejected') THEN n.created + interval '5 days' END,
    n.created,
    n.created + CASE WHEN n.open THEN interval '1 day' ELSE interval '5 days' END,
    CASE WHEN n.status <> 'draft' THEN n.created + interval '10 minutes' END,
    1
FROM bench_numbered n
ORDER BY n.created, n.i;

-- The timeline: the path each status took.
CREATE TEMP TABLE bench_paths (kind TEXT, status TEXT, step INT, action TEXT, from_status TEXT,
                               to_status TEXT, role TEXT);
INSERT INTO bench_paths VALUES
  ('*', '*', 1, 'create', NULL, 'draft', 'applicant'),
  ('*', 'submitted+', 2, 'submit', 'draft', 'submitted', 'applicant'),
  ('meter-damage-investigation', 'accepted+', 3, 'accept', 'submitted', 'accepted', 'operator'),
  ('meter-damage-investigation', 'inspection-scheduled+', 4, 'schedule-inspection', 'accepted', 'inspection-scheduled', 'operator'),
  ('meter-damage-investigation', 'inspected+', 5, 'record-inspection', 'inspection-scheduled', 'inspected', 'operator'),
  ('meter-damage-investigation', 'completed', 6, 'complete', 'inspected', 'completed', 'operator'),
  ('account-change', 'under-review+', 3, 'start-review', 'submitted', 'under-review', 'operator'),
  ('account-change', 'approved', 4, 'approve', 'under-review', 'approved', 'operator');
CREATE TEMP TABLE bench_reached (status TEXT, reached TEXT);
INSERT INTO bench_reached VALUES
  ('submitted', '*'), ('submitted', 'submitted+'),
  ('accepted', '*'), ('accepted', 'submitted+'), ('accepted', 'accepted+'),
  ('inspection-scheduled', '*'), ('inspection-scheduled', 'submitted+'), ('inspection-scheduled', 'accepted+'), ('inspection-scheduled', 'inspection-scheduled+'),
  ('inspected', '*'), ('inspected', 'submitted+'), ('inspected', 'accepted+'), ('inspected', 'inspection-scheduled+'), ('inspected', 'inspected+'),
  ('completed', '*'), ('completed', 'submitted+'), ('completed', 'accepted+'), ('completed', 'inspection-scheduled+'), ('completed', 'inspected+'), ('completed', 'completed'),
  ('under-review', '*'), ('under-review', 'submitted+'), ('under-review', 'under-review+'),
  ('approved', '*'), ('approved', 'submitted+'), ('approved', 'under-review+'), ('approved', 'approved'),
  ('draft', '*'),
  ('rejected', '*'), ('rejected', 'submitted+'),
  ('cancelled', '*'), ('cancelled', 'submitted+'),
  ('returned-for-correction', '*'), ('returned-for-correction', 'submitted+');

INSERT INTO application_timeline (application_id, at, actor_id, actor_role, action, from_status, to_status, comment)
SELECT a.id, a.created_at + (p.step - 1) * interval '10 minutes',
       CASE WHEN p.role = 'applicant' THEN a.applicant_pin ELSE 'operator-' || a.department_code END,
       p.role, p.action, p.from_status, p.to_status, NULL
FROM applications a
JOIN bench_reached r ON r.status = a.status
JOIN bench_paths p ON p.status = r.reached AND (p.kind = '*' OR p.kind = a.kind)
WHERE a.applicant_pin LIKE 'B%'
ORDER BY a.id, p.step;

-- The endings that leave the main path.
INSERT INTO application_timeline (application_id, at, actor_id, actor_role, action, from_status, to_status, comment)
SELECT a.id, a.created_at + interval '1 day',
       CASE WHEN a.status = 'cancelled' THEN a.applicant_pin ELSE 'operator-' || a.department_code END,
       CASE WHEN a.status = 'cancelled' THEN 'applicant' ELSE 'operator' END,
       CASE a.status WHEN 'rejected' THEN 'reject' WHEN 'cancelled' THEN 'cancel' ELSE 'return-for-correction' END,
       'submitted', a.status,
       CASE a.status WHEN 'rejected' THEN a.rejection_reason WHEN 'returned-for-correction' THEN a.correction_request END
FROM applications a
WHERE a.applicant_pin LIKE 'B%' AND a.status IN ('rejected', 'cancelled', 'returned-for-correction')
ORDER BY a.id;

-- Numbers given out later continue after the loaded ones: each prefix and year's sequence
-- (migration hot_rows) is made here, as next_application_number would make it on first use.
DO $$
DECLARE
    loaded RECORD;
BEGIN
    FOR loaded IN SELECT prefix, year, max(seq) AS highest FROM bench_numbered GROUP BY prefix, year LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I',
            format('application_number_%s_%s', lower(loaded.prefix), loaded.year));
        EXECUTE format('CREATE SEQUENCE %I START WITH %s',
            format('application_number_%s_%s', lower(loaded.prefix), loaded.year), loaded.highest + 1);
        -- A build from before that migration (`--binary`, for a before/after comparison) still
        -- numbers from its counter table.
        IF to_regclass('application_number_sequences') IS NOT NULL THEN
            EXECUTE 'INSERT INTO application_number_sequences (prefix, year, last_value) VALUES ($1, $2, $3) '
                'ON CONFLICT (prefix, year) DO UPDATE SET last_value = GREATEST('
                'application_number_sequences.last_value, EXCLUDED.last_value)'
                USING loaded.prefix, loaded.year, loaded.highest;
        END IF;
    END LOOP;
END
$$;

ANALYZE;
