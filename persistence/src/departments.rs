//! The company's departments and the districts each serves (master data, loaded by the seed).
//!
//! Every submission is routed by this table, and it changes only when the seed (or an operator
//! with SQL) changes master data, so it is read at most once per [`REFRESH`] and kept: a
//! submission spends no round trip on it. A change reaches every instance within that time
//! (docs/DEPLOYMENT.md, "What stays per instance").

use crate::connection::{Database, unavailable};
use crate::schema::{department_districts, departments};
use diesel::prelude::*;
use domain::application::ApplicationKind;
use domain::district::DistrictCode;
use domain::ports::{DepartmentDirectory, Unavailable};
use domain::routing::{Department, DepartmentCode};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a read of the departments is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(30);

/// A read of the departments and when it was made.
type KeptRead = (Instant, Vec<Department>);

#[derive(Debug, Clone)]
pub struct DieselDepartments {
    db: Database,
    refresh: Duration,
    /// The last read and when it was made; shared by the clones.
    kept: Arc<RwLock<Option<KeptRead>>>,
}

impl DieselDepartments {
    pub fn new(db: Database) -> Self {
        Self::refreshed_every(db, REFRESH)
    }

    /// Kept for `refresh` (zero: read every time).
    pub fn refreshed_every(db: Database, refresh: Duration) -> Self {
        Self {
            db,
            refresh,
            kept: Arc::new(RwLock::new(None)),
        }
    }

    /// One statement: the departments with the districts each serves, joined.
    fn read(&self) -> Result<Vec<Department>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<(String, String, String, Option<String>)> = departments::table
            .left_join(department_districts::table)
            .order((
                departments::code.asc(),
                department_districts::district_code.asc(),
            ))
            .select((
                departments::code,
                departments::name,
                departments::kind,
                department_districts::district_code.nullable(),
            ))
            .load(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        let mut found: Vec<Department> = Vec::new();
        for (code, name, kind, district) in rows {
            let bad = |what: &str| {
                Unavailable::stored_data(format!("department {code} has an invalid {what}"))
            };
            let district = district
                .map(|d| DistrictCode::parse(&d).map_err(|_| bad("district")))
                .transpose()?;
            let same = found.last().is_some_and(|last| last.code.as_str() == code);
            if !same {
                found.push(Department {
                    code: DepartmentCode::parse(&code).map_err(|_| bad("code"))?,
                    kind: ApplicationKind::parse(&kind).ok_or_else(|| bad("kind"))?,
                    districts: Vec::new(),
                    name,
                });
            }
            if let (Some(district), Some(department)) = (district, found.last_mut()) {
                department.districts.push(district);
            }
        }
        Ok(found)
    }
}

impl DepartmentDirectory for DieselDepartments {
    fn departments(&self) -> Result<Vec<Department>, Unavailable> {
        // A poisoned lock only means a reader panicked while holding it; the data is whole.
        let fresh = |at: &Instant| at.elapsed() < self.refresh;
        if let Some((at, departments)) = &*self.kept.read().unwrap_or_else(|e| e.into_inner())
            && fresh(at)
        {
            return Ok(departments.clone());
        }
        let departments = self.read()?;
        *self.kept.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), departments.clone()));
        Ok(departments)
    }
}
