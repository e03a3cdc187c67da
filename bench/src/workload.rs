//! The five scenarios and the requests of each: who calls, with which token, about what. The
//! callers and their data are picked from the loaded data set; tokens come from the service's
//! development token route, signed with its development key.

use crate::cluster::Cluster;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Create and submit a meter damage investigation in one call, on a fresh account.
    Submit,
    /// "My applications", first page.
    MyApplications,
    /// One application, as its applicant sees it.
    Detail,
    /// An operator's inbox, first page, with a status and a kind, by due time.
    Inbox,
    /// The debt of one of the caller's subscriber accounts.
    Debt,
    /// Not a scenario of the service's but the floor under all of them: `GET /health/live`, no
    /// token and no database, through the same middlewares and the same load generator. No
    /// request can be served faster here, so a scenario's ratio to its ceiling cannot exceed the
    /// floor's rate over that ceiling.
    Floor,
}

impl Scenario {
    pub const ALL: [Self; 5] = [
        Self::MyApplications,
        Self::Detail,
        Self::Inbox,
        Self::Debt,
        Self::Submit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::MyApplications => "my-applications",
            Self::Detail => "application-detail",
            Self::Inbox => "inbox",
            Self::Debt => "debt-check",
            Self::Floor => "floor",
        }
    }

    pub fn expected_status(self) -> u16 {
        match self {
            Self::Submit => 201,
            _ => 200,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub post: bool,
    pub path: String,
    pub token: String,
    pub body: Option<Value>,
}

#[derive(Debug)]
pub struct Workload {
    my_applications: Vec<String>,
    details: Vec<(String, String)>,
    inboxes: Vec<(String, String)>,
    debts: Vec<(String, String)>,
    /// A submitter's token and their four fresh accounts.
    submitters: Vec<(String, Vec<String>)>,
    next_submission: AtomicUsize,
}

const ACCOUNTS_PER_SUBMITTER: usize = 4;

impl Workload {
    /// Picks `callers` applicants (and their applications and accounts), the operators of every
    /// department, and `submitters` people with fresh accounts; gets a token for each.
    pub async fn prepare(
        cluster: &Cluster,
        database: &str,
        base: &str,
        callers: usize,
        submitters: usize,
    ) -> Result<Self> {
        let client = reqwest::Client::new();
        let pins = lines(&cluster.sql(
            database,
            &format!(
                "SELECT pin FROM citizens WHERE pin LIKE 'B%' ORDER BY md5(pin) LIMIT {callers}"
            ),
        )?);
        if pins.is_empty() {
            bail!("the data set has no applicants");
        }
        let mut tokens = std::collections::HashMap::new();
        for pin in &pins {
            tokens.insert(
                pin.clone(),
                token(&client, base, json!({"pin": pin})).await?,
            );
        }
        let token_of = |pin: &str| tokens.get(pin).cloned().unwrap_or_default();
        let list = pins
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(",");
        let details = pairs(&cluster.sql(
            database,
            &format!(
                "SELECT applicant_pin, number FROM applications WHERE applicant_pin IN ({list}) \
                 ORDER BY md5(number) LIMIT {}",
                callers.saturating_mul(2)
            ),
        )?)
        .into_iter()
        .map(|(pin, number)| (token_of(&pin), format!("/api/v1/applications/{number}")))
        .collect();
        let debts = pairs(&cluster.sql(
            database,
            &format!(
                "SELECT holder_pin, code FROM subscriber_accounts WHERE holder_pin IN ({list}) \
                 ORDER BY code"
            ),
        )?)
        .into_iter()
        .map(|(pin, code)| {
            (
                token_of(&pin),
                format!("/api/v1/subscriber-accounts/{code}/debt"),
            )
        })
        .collect();
        let mut inboxes = Vec::new();
        for (department, kind) in
            pairs(&cluster.sql(database, "SELECT code, kind FROM departments ORDER BY code")?)
        {
            let statuses: &[&str] = if kind == "account-change" {
                &["submitted", "under-review"]
            } else {
                &["submitted", "accepted", "inspection-scheduled"]
            };
            for operator in 0..3 {
                let token = token(
                    &client,
                    base,
                    json!({"employee_id": format!("operator-{department}-{operator}"),
                           "roles": ["operator"], "department": department}),
                )
                .await?;
                for status in statuses {
                    inboxes.push((
                        token.clone(),
                        format!("/api/v1/inbox?status={status}&kind={kind}&sort=due_at&limit=20"),
                    ));
                }
            }
        }
        let mut fresh = Vec::new();
        for (pin, codes) in pairs(&cluster.sql(
            database,
            &format!(
                "SELECT c.pin, string_agg(a.code, ',' ORDER BY a.code) FROM \
                 (SELECT pin FROM citizens WHERE pin LIKE 'S%' ORDER BY pin LIMIT {submitters}) c \
                 JOIN subscriber_accounts a ON a.holder_pin = c.pin GROUP BY c.pin ORDER BY c.pin"
            ),
        )?) {
            let codes: Vec<String> = codes.split(',').map(str::to_owned).collect();
            if codes.len() != ACCOUNTS_PER_SUBMITTER {
                bail!("submitter {pin} has {} accounts", codes.len());
            }
            fresh.push((token(&client, base, json!({"pin": pin})).await?, codes));
        }
        Ok(Self {
            my_applications: pins.iter().map(|p| token_of(p)).collect(),
            details,
            inboxes,
            debts,
            submitters: fresh,
            next_submission: AtomicUsize::new(0),
        })
    }

    /// The `i`th request of a scenario (reads cycle through their callers; each submission takes
    /// the next fresh account).
    pub fn request(&self, scenario: Scenario, i: usize) -> Result<Request> {
        fn pick<T>(items: &[T], i: usize) -> Result<&T> {
            items
                .get(i % items.len().max(1))
                .context("the data set gave no caller for this scenario")
        }
        Ok(match scenario {
            Scenario::MyApplications => Request {
                post: false,
                path: "/api/v1/me/applications?limit=20".to_owned(),
                token: pick(&self.my_applications, i)?.clone(),
                body: None,
            },
            Scenario::Detail => get(pick(&self.details, i)?),
            Scenario::Inbox => get(pick(&self.inboxes, i)?),
            Scenario::Debt => get(pick(&self.debts, i)?),
            Scenario::Floor => Request {
                post: false,
                path: "/health/live".to_owned(),
                token: String::new(),
                body: None,
            },
            Scenario::Submit => {
                let n = self.next_submission.fetch_add(1, Ordering::Relaxed);
                let (token, codes) = self
                    .submitters
                    .get(n / ACCOUNTS_PER_SUBMITTER)
                    .context("the fresh accounts for submissions ran out: load more submitters")?;
                let code = codes
                    .get(n % ACCOUNTS_PER_SUBMITTER)
                    .context("a submitter without accounts")?;
                Request {
                    post: true,
                    path: "/api/v1/applications".to_owned(),
                    token: token.clone(),
                    body: Some(json!({
                        "kind": "meter-damage-investigation",
                        "subscriber": {"type": "residential", "subscriber_code": code},
                        "damage_description": "Sayğacın şüşəsi sınıb, göstəricilər oxunmur.",
                        "contact": {"mobile_numbers": ["050 123 45 67"], "email": "abonent@example.az"},
                        "submit": true
                    })),
                }
            }
        })
    }
}

fn get((token, path): &(String, String)) -> Request {
    Request {
        post: false,
        path: path.clone(),
        token: token.clone(),
        body: None,
    }
}

async fn token(client: &reqwest::Client, base: &str, request: Value) -> Result<String> {
    let response = client
        .post(format!("{base}/api/v1/dev/tokens"))
        .json(&request)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "the development token route answered {} for {request}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let body: Value = response.json().await?;
    body.get("access_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("no access_token in the development token answer")
}

fn lines(output: &str) -> Vec<String> {
    output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn pairs(output: &str) -> Vec<(String, String)> {
    lines(output)
        .into_iter()
        .filter_map(|l| l.split_once('|').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect()
}
