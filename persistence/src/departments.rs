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
    fn departments(&self) -> Result<Vec<Department>, Unavailable> {
        let mut conn = self.db.connection()?;
        let rows: Vec<(String, String, String)> = departments::table
            .order(departments::code.asc())
            .select((departments::code, departments::name, departments::kind))
            .load(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        let served: Vec<(String, String)> = department_districts::table
            .order((
                department_districts::department_code.asc(),
                department_districts::district_code.asc(),
            ))
            .select((
                department_districts::department_code,
                department_districts::district_code,
            ))
            .load(&mut *conn)
            .map_err(|e| unavailable(&e))?;
        rows.into_iter()
            .map(|(code, name, kind)| {
                let bad = |what: &str| {
                    Unavailable::stored_data(format!("department {code} has an invalid {what}"))
                };
                Ok(Department {
                    code: DepartmentCode::parse(&code).map_err(|_| bad("code"))?,
                    kind: ApplicationKind::parse(&kind).ok_or_else(|| bad("kind"))?,
                    districts: served
                        .iter()
                        .filter(|(department, _)| *department == code)
                        .map(|(_, district)| {
                            DistrictCode::parse(district).map_err(|_| bad("district"))
                        })
                        .collect::<Result<_, _>>()?,
                    name,
                })
            })
            .collect()
    }
}
