//! "My applications": newest first, filters, cursor paging, total count.

use eservices_tests::{demo, on_both_backends};
use serde_json::json;

on_both_backends! {
    async fn newest_first_with_filters_and_cursor_paging(app) {
        let token = app.token(demo::RESIDENT, None).await;
        let mut numbers = Vec::new();
        for kind in ["meter-damage-investigation", "account-change", "meter-damage-investigation", "meter-damage-investigation", "account-change"] {
            let created = app.create(&token, json!({"kind": kind})).await;
            numbers.push(created.assert_status(201)["number"].as_str().unwrap_or_default().to_owned());
        }
        let cancel = format!("/api/v1/applications/{}/cancel", numbers[0]);
        app.post(&cancel, &token, json!({})).await.assert_status(200);
        // Someone else's applications never show.
        let other = app.token(demo::NOBODY, None).await;
        app.create(&other, json!({"kind": "account-change"})).await.assert_status(201);

        let first = app.get("/api/v1/me/applications?limit=2", Some(&token)).await;
        let body = first.assert_status(200);
        assert_eq!(body["total"], json!(5));
        assert_eq!(body["limit"], json!(2));
        let page: Vec<&str> = body["items"].as_array().into_iter().flatten().filter_map(|i| i["number"].as_str()).collect();
        assert_eq!(page, [numbers[4].as_str(), numbers[3].as_str()]);
        let mut seen: Vec<String> = page.iter().map(|n| (*n).to_owned()).collect();
        let mut cursor = body["next_cursor"].as_str().map(str::to_owned);
        while let Some(next) = cursor {
            let reply = app.get(&format!("/api/v1/me/applications?limit=2&cursor={next}"), Some(&token)).await;
            let body = reply.assert_status(200);
            assert_eq!(body["total"], json!(5));
            seen.extend(body["items"].as_array().into_iter().flatten().filter_map(|i| i["number"].as_str().map(str::to_owned)));
            cursor = body["next_cursor"].as_str().map(str::to_owned);
        }
        let expected: Vec<String> = numbers.iter().rev().cloned().collect();
        assert_eq!(seen, expected);

        let drafts = app.get("/api/v1/me/applications?status=draft", Some(&token)).await;
        assert_eq!(drafts.assert_status(200)["total"], json!(4));
        let cancelled = app.get("/api/v1/me/applications?status=cancelled&kind=meter-damage-investigation", Some(&token)).await;
        assert_eq!(cancelled.assert_status(200)["total"], json!(1));
        assert_eq!(cancelled.body["items"][0]["number"], json!(numbers[0]));
        assert_eq!(cancelled.body["items"][0]["status"], json!("cancelled"));
        let changes = app.get("/api/v1/me/applications?kind=account-change", Some(&token)).await;
        assert_eq!(changes.assert_status(200)["total"], json!(2));
        assert!(changes.body.get("next_cursor").is_none());
    }
}
