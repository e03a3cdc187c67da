//! The company's departments and the districts each serves (master data, loaded by the seed).

use crate::connection::{Database, unavailable};
use crate::schema::{department_districts, departments};
use diesel::prelude::*;
use domain::application::ApplicationKind;
use domain::district::DistrictCode;
use domain::ports::{DepartmentDirectory, Unavailable};
use domain::routing::{Department, DepartmentCode};

#[derive(Debug, Clone)]
pub struct DieselDepartments {
    db: Database,
}

impl DieselDepartments {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

impl DepartmentDirectory for DieselDepartments {
    /// One statement (departments with the districts each serves, joined): routing a submission
    /// reads it, so it is one round trip of the submission's.
    fn departments(&self) -> Result<Vec<Department>, Unavailable> {
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
