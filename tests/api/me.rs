//! The applicant's own data from the registries and billing.

use eservices_tests::{demo, on_both_backends};
use serde_json::json;

on_both_backends! {
    async fn main_information_comes_from_the_citizen_registry(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let me = app.get("/api/v1/me", Some(&token)).await;
        let body = me.assert_status(200);
        assert_eq!(body["pin"], json!(demo::RESIDENT));
        assert_eq!(body["first_name"], json!("Rəşad"));
        assert_eq!(body["last_name"], json!("Məmmədov"));
        assert_eq!(body["birth_date"], json!("1984-03-17"));
        assert!(body["registered_address"].as_str().is_some_and(|a| a.contains("Yasamal")));
        assert_eq!(body["login_method"], json!("asan-imza"));
        assert!(body.get("business").is_none());
    }

    async fn main_information_with_the_business(app) {
        let token = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let me = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(me.assert_status(200)["business"]["tin"], json!(demo::BUSINESS));
        let impostor = app.token(demo::RESIDENT, Some(demo::BUSINESS)).await;
        app.get("/api/v1/me", Some(&impostor)).await.assert_problem(403, "not-a-representative");
        let unknown = app.token(demo::UNKNOWN_PERSON, None).await;
        app.get("/api/v1/me", Some(&unknown)).await.assert_problem(404, "person-not-in-registry");
    }

    async fn subscriber_accounts_are_the_applicants_own(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let accounts = app.get("/api/v1/me/subscriber-accounts", Some(&token)).await;
        let codes: Vec<&str> = accounts.assert_status(200).as_array().into_iter().flatten()
            .filter_map(|a| a["subscriber_code"].as_str()).collect();
        assert_eq!(codes, ["1000000001", "1000000002"]);
        assert_eq!(accounts.body[0]["holder"], json!("Rəşad Məmmədov"));
        assert_eq!(accounts.body[0]["district"], json!("AZ-BA-YSM"));
        let nobody = app.token(demo::NOBODY, None).await;
        assert_eq!(app.get("/api/v1/me/subscriber-accounts", Some(&nobody)).await.assert_status(200), &json!([]));
    }

    async fn head_codes_and_metering_points_of_the_business(app) {
        let token = app.token(demo::BUSINESS_REPRESENTATIVE, Some(demo::BUSINESS)).await;
        let heads = app.get("/api/v1/me/head-codes", Some(&token)).await;
        let codes: Vec<&str> = heads.assert_status(200).as_array().into_iter().flatten()
            .filter_map(|h| h["head_code"].as_str()).collect();
        assert_eq!(codes, ["50000001", "50000002"]);
        let points = app.get("/api/v1/me/head-codes/50000001/metering-points", Some(&token)).await;
        let codes: Vec<&str> = points.assert_status(200).as_array().into_iter().flatten()
            .filter_map(|p| p["metering_point"].as_str()).collect();
        assert_eq!(codes, ["50000001-01", "50000001-02", "50000001-03"]);
        // Another business's head code is not found, an unknown one too, a malformed one is a 400.
        app.get("/api/v1/me/head-codes/50000101/metering-points", Some(&token)).await.assert_problem(404, "head-code-not-found");
        app.get("/api/v1/me/head-codes/59999999/metering-points", Some(&token)).await.assert_problem(404, "head-code-not-found");
        let malformed = app.get("/api/v1/me/head-codes/abc/metering-points", Some(&token)).await;
        malformed.assert_problem(400, "invalid-path-parameter");
        assert_eq!(malformed.fields_at_fault(), ["head_code"]);
        // Without acting for a business there are no head codes.
        let person = app.token(demo::BUSINESS_REPRESENTATIVE, None).await;
        app.get("/api/v1/me/head-codes", Some(&person)).await.assert_problem(403, "business-required");
        app.get("/api/v1/me/head-codes/50000001/metering-points", Some(&person)).await.assert_problem(403, "business-required");
    }

    async fn the_debt_check_shows_the_balance_only(app) {
        let token = app.token(demo::NEW_OWNER, None).await;
        let debt = app.get("/api/v1/subscriber-accounts/1000000005/debt", Some(&token)).await;
        assert_eq!(
            debt.assert_status(200),
            &json!({"subscriber_code": "1000000005", "amount_qapik": 452370, "currency": "AZN", "as_of": "2026-11-01T00:00:00Z", "has_debt": true})
        );
        let clear = app.get("/api/v1/subscriber-accounts/1000000004/debt", Some(&token)).await;
        assert_eq!(clear.assert_status(200)["has_debt"], json!(false));
        assert_eq!(clear.body["amount_qapik"], json!(0));
        app.get("/api/v1/subscriber-accounts/1999999999/debt", Some(&token)).await.assert_problem(404, "subscriber-code-not-found");
        app.get("/api/v1/subscriber-accounts/12/debt", Some(&token)).await.assert_problem(400, "invalid-path-parameter");
        app.get("/api/v1/subscriber-accounts/1000000005/debt", None).await.assert_problem(401, "unauthenticated");
    }
}
