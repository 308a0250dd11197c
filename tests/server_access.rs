//! Tokens and bad input, black-box: 401 without or with a wrong token,
//! 403 for a tenant token across tenants (it can neither read nor change
//! them), 404 for unknown tenants and users, 400 naming the field — and
//! none of them change anything. Also: restart loses nothing, ops endpoints,
//! and the admin CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server;

use serde_json::{Value, json};
use server::{Server, audit_len, expect, grant, problem, started, tenant, user};

#[test]
fn requests_without_or_with_a_wrong_token_are_401() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    for token in [None, Some("wrong-token"), Some("")] {
        let answer = s.call("GET", "/v1/tenants", token, None);
        problem(&answer, 401, "Unauthorized");
        assert!(
            answer
                .www_authenticate
                .as_deref()
                .is_some_and(|h| h.starts_with("Bearer"))
        );
        let answer = s.call(
            "POST",
            "/v1/tenants",
            token,
            Some(json!({"name": "evil", "domains": ["evil.test"]})),
        );
        problem(&answer, 401, "Unauthorized");
    }
    assert_eq!(
        expect(&s.admin("GET", "/v1/tenants", None), 200)["tenants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn unknown_tenants_and_users_are_404() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    problem(
        &s.admin("GET", "/v1/tenants/nope", None),
        404,
        "UnknownTenant",
    );
    problem(
        &s.admin("GET", "/v1/tenants/nope/users", None),
        404,
        "UnknownTenant",
    );
    problem(
        &s.admin(
            "PUT",
            "/v1/tenants/nope/upgrade-policy",
            Some(json!({"policy": "SfBOnly"})),
        ),
        404,
        "UnknownTenant",
    );
    problem(
        &s.admin(
            "POST",
            "/v1/tenants/nope/users",
            Some(json!({"upn": "a@contoso.test"})),
        ),
        404,
        "UnknownTenant",
    );
    problem(
        &s.admin("GET", "/v1/users/nobody@contoso.test", None),
        404,
        "UnknownUser",
    );
    problem(
        &s.admin("GET", "/v1/users/nobody@contoso.test/effective", None),
        404,
        "UnknownUser",
    );
    problem(
        &grant(&s, "nobody@contoso.test", json!("SfBOnly")),
        404,
        "UnknownUser",
    );
    problem(
        &s.admin("DELETE", "/v1/users/nobody@contoso.test", None),
        404,
        "UnknownUser",
    );
    problem(
        &s.admin("GET", "/v1/no-such-endpoint", None),
        404,
        "NotFound",
    );
    problem(
        &s.admin("DELETE", "/v1/upgrade-policies", None),
        405,
        "MethodNotAllowed",
    );
}

#[test]
fn a_tenant_token_cannot_read_or_change_another_tenant() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    tenant(&s, "fabrikam", "fabrikam.test", "online");
    user(&s, "contoso", "alice@contoso.test", json!({}));
    user(
        &s,
        "fabrikam",
        "fred@fabrikam.test",
        json!({"display_name": "Fred"}),
    );
    let answer = s.admin(
        "POST",
        "/v1/tenants/contoso/tokens",
        Some(json!({"label": "helpdesk"})),
    );
    let token = expect(&answer, 201)["token"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());
    let before = audit_len(&s);

    // Its own tenant: fine.
    expect(&s.call("GET", "/v1/tenants/contoso", t, None), 200);
    expect(&s.call("GET", "/v1/users/alice@contoso.test", t, None), 200);
    expect(
        &s.call(
            "PUT",
            "/v1/users/alice@contoso.test/upgrade-policy",
            t,
            Some(json!({"policy": "SfBOnly"})),
        ),
        200,
    );
    let listed = s.call("GET", "/v1/tenants", t, None);
    assert_eq!(
        expect(&listed, 200)["tenants"].as_array().unwrap().len(),
        1,
        "sees only its tenant"
    );

    // The other tenant: 403 on every read and write.
    problem(
        &s.call("GET", "/v1/tenants/fabrikam", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/tenants/fabrikam/users", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/users/fred@fabrikam.test", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/users/fred@fabrikam.test/effective", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "PATCH",
            "/v1/users/fred@fabrikam.test",
            t,
            Some(json!({"display_name": "Hacked"})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "PUT",
            "/v1/users/fred@fabrikam.test/upgrade-policy",
            t,
            Some(json!({"policy": "SfBOnly"})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call("DELETE", "/v1/users/fred@fabrikam.test", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "POST",
            "/v1/tenants/fabrikam/users",
            t,
            Some(json!({"upn": "x@fabrikam.test"})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "PUT",
            "/v1/tenants/fabrikam/federation",
            t,
            Some(json!({"sfb_federation": true})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/tenants/fabrikam/lint", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "GET",
            "/v1/routing/explain?from=fred@fabrikam.test&client=teams&to=alice@contoso.test",
            t,
            None,
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/audit?tenant=fabrikam", t, None),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "PUT",
            "/v1/tenants/fabrikam/peers/pstn/gw",
            t,
            Some(json!({"address": "gw.test:5060"})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call("GET", "/v1/tenants/fabrikam/peers", t, None),
        403,
        "Forbidden",
    );
    let csv = b"upn\nx@fabrikam.test\n";
    problem(
        &s.raw(
            "POST",
            "/v1/tenants/fabrikam/users/import",
            t,
            Some(csv),
            "text/csv",
        ),
        403,
        "Forbidden",
    );
    // Deployment-wide actions need the admin token.
    problem(
        &s.call(
            "POST",
            "/v1/tenants",
            t,
            Some(json!({"name": "mine", "domains": ["mine.test"]})),
        ),
        403,
        "Forbidden",
    );
    problem(
        &s.call(
            "POST",
            "/v1/tenants/contoso/tokens",
            t,
            Some(json!({"label": "more"})),
        ),
        403,
        "Forbidden",
    );
    let policy = json!({"name": "Mine", "ChatDefaultClient": "SfB", "CallingDefaultClient": "SfB"});
    problem(
        &s.call("POST", "/v1/interop-policies", t, Some(policy)),
        403,
        "Forbidden",
    );
    problem(
        &s.call("DELETE", "/v1/tenants/contoso", t, None),
        403,
        "Forbidden",
    );
    // Reading the shared catalogues is fine.
    expect(&s.call("GET", "/v1/upgrade-policies", t, None), 200);
    expect(&s.call("GET", "/v1/interop-policies", t, None), 200);

    // Fred is untouched, and only the allowed grant was recorded.
    let fred = s.admin("GET", "/v1/users/fred@fabrikam.test", None);
    assert_eq!(expect(&fred, 200)["display_name"], "Fred");
    assert_eq!(fred.body["upgrade_policy"], Value::Null);
    assert_eq!(audit_len(&s), before + 1);
    // The token's audit view holds its own tenant only, naming it as actor.
    let audit = s.call("GET", "/v1/audit", t, None);
    let entries = expect(&audit, 200)["entries"].as_array().unwrap().clone();
    assert!(entries.iter().all(|e| e["tenant"] == "contoso"));
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "token:contoso/helpdesk")
    );
}

#[test]
fn bad_requests_are_problems_naming_the_field_and_change_nothing() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    tenant(&s, "fabrikam", "fabrikam.test", "online");
    user(
        &s,
        "contoso",
        "alice@contoso.test",
        json!({"phone_number": "+14255550100"}),
    );
    let before = audit_len(&s);
    let field = |answer: server::Answer, status: u16, code: &str| {
        problem(&answer, status, code)["field"].clone()
    };

    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "POST",
            "/v1/tenants",
            json!({"name": "Bad Name", "domains": ["x.test"]}),
            "name",
        ),
        (
            "POST",
            "/v1/tenants",
            json!({"name": "x", "domains": []}),
            "domains",
        ),
        (
            "POST",
            "/v1/tenants",
            json!({"name": "x", "domains": ["x.test"], "topology": "cloud"}),
            "topology",
        ),
        (
            "POST",
            "/v1/tenants",
            json!({"name": "x", "domains": ["x.test"], "cloud": "mars"}),
            "cloud",
        ),
        (
            "POST",
            "/v1/tenants",
            json!({"name": "x", "domains": "x.test"}),
            "domains",
        ),
        (
            "POST",
            "/v1/tenants",
            json!({"name": "x", "domains": ["x.test"], "colour": "red"}),
            "colour",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "not-an-upn"}),
            "upn",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@fabrikam.test"}),
            "upn",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@contoso.test", "sfb_homing": "cloud"}),
            "sfb_homing",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@contoso.test", "voice": "loud"}),
            "voice",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@contoso.test", "password": "short"}),
            "password",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@contoso.test", "teams_enabled": "yes"}),
            "teams_enabled",
        ),
        (
            "POST",
            "/v1/tenants/contoso/users",
            json!({"upn": "bob@contoso.test", "phone_number": "555"}),
            "phone_number",
        ),
        (
            "PATCH",
            "/v1/users/alice@contoso.test",
            json!({"upn": "eve@contoso.test"}),
            "upn",
        ),
        (
            "PUT",
            "/v1/users/alice@contoso.test/upgrade-policy",
            json!({"policy": "TeamsOnlyPlease"}),
            "policy",
        ),
        (
            "PUT",
            "/v1/users/alice@contoso.test/upgrade-policy",
            json!({"polcy": "SfBOnly"}),
            "polcy",
        ),
        (
            "PUT",
            "/v1/tenants/contoso/federation",
            json!({"allowed_domains": ["not a domain"]}),
            "allowed_domains",
        ),
    ];
    for (method, path, body, expected) in cases {
        let answer = s.admin(method, path, Some(body.clone()));
        assert_eq!(
            field(answer, 400, "InvalidField"),
            expected,
            "{method} {path} {body}"
        );
    }
    // Malformed JSON.
    let answer = s.raw(
        "POST",
        "/v1/tenants",
        Some(&s.token),
        Some(b"not json"),
        "application/json",
    );
    assert_eq!(field(answer, 400, "InvalidField"), "body");
    // Conflicts are 409, naming the field.
    let dup = s.admin(
        "POST",
        "/v1/tenants/contoso/users",
        Some(json!({"upn": "ALICE@contoso.test"})),
    );
    assert_eq!(field(dup, 409, "AlreadyExists"), "upn");
    let dup = s.admin(
        "POST",
        "/v1/tenants",
        Some(json!({"name": "other", "domains": ["contoso.test"]})),
    );
    assert_eq!(field(dup, 409, "AlreadyExists"), "domains");
    let dup = s.admin(
        "POST",
        "/v1/tenants/contoso/users",
        Some(json!({"upn": "bob@contoso.test", "phone_number": "+14255550100"})),
    );
    assert_eq!(field(dup, 409, "AlreadyExists"), "phone_number");

    assert_eq!(audit_len(&s), before, "nothing changed");
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso/users", None).body["total"],
        1
    );
    assert_eq!(
        s.admin("GET", "/v1/tenants", None).body["tenants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn restart_loses_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data);
    tenant(&s, "contoso", "contoso.test", "hybrid");
    user(
        &s,
        "contoso",
        "alice@contoso.test",
        json!({"password": "password-1", "voice": "online", "phone_number": "+14255550100"}),
    );
    user(
        &s,
        "contoso",
        "olga@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    expect(
        &grant(&s, "alice@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    expect(
        &s.admin(
            "PUT",
            "/v1/tenants/contoso/upgrade-policy",
            Some(json!({"policy": "SfBWithTeamsCollab"})),
        ),
        200,
    );
    expect(&s.admin("PUT", "/v1/tenants/contoso/federation", Some(json!({"sfb_federation": true, "teams_federation": true, "allowed_domains": ["fabrikam.test"]}))), 200);
    expect(
        &s.admin(
            "PUT",
            "/v1/users/olga@contoso.test/interop-policy",
            Some(json!({"policy": "DisallowOverrideCallingSfbChatSfb"})),
        ),
        200,
    );
    let csv = b"upn,policy\nu1@contoso.test,SfBOnly\nu2@contoso.test,\n";
    expect(
        &s.raw(
            "POST",
            "/v1/tenants/contoso/users/import",
            Some(&s.token),
            Some(csv),
            "text/csv",
        ),
        200,
    );
    let token = expect(
        &s.admin(
            "POST",
            "/v1/tenants/contoso/tokens",
            Some(json!({"label": "ops"})),
        ),
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    expect(
        &s.admin(
            "PUT",
            "/v1/tenants/contoso/peers/hybrid/onprem",
            Some(json!({"address": "sfb.contoso.test:5061", "transport": "tcp"})),
        ),
        200,
    );
    let audit_before = s.admin("GET", "/v1/audit?limit=1000", None).body;
    let tenant_before = s.admin("GET", "/v1/tenants/contoso", None).body;
    assert!(s.stop().success());

    let s = Server::start(&data);
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso", None).body,
        tenant_before
    );
    let peers = s.admin("GET", "/v1/tenants/contoso/peers", None);
    assert_eq!(peers.body["peers"][0]["address"], "sfb.contoso.test:5061");
    assert_eq!(
        s.admin("GET", "/v1/audit?limit=1000", None).body,
        audit_before
    );
    let alice = s.admin("GET", "/v1/users/alice@contoso.test/effective", None);
    assert_eq!(
        expect(&alice, 200)["TeamsUpgradeEffectiveMode"],
        "TeamsOnly"
    );
    let olga = s.admin("GET", "/v1/users/olga@contoso.test/effective", None);
    assert_eq!(olga.body["TeamsUpgradeEffectiveMode"], "SfBWithTeamsCollab");
    assert_eq!(olga.body["TeamsUpgradePolicySource"], "tenant");
    assert_eq!(
        olga.body["TeamsInteropPolicy"],
        "DisallowOverrideCallingSfbChatSfb"
    );
    assert_eq!(
        s.admin("GET", "/v1/users/u1@contoso.test/effective", None)
            .body["TeamsUpgradeEffectiveMode"],
        "SfBOnly"
    );
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso/users", None).body["total"],
        4
    );
    assert_eq!(
        s.admin("GET", "/v1/users/alice@contoso.test", None).body["phone_number"],
        "+14255550100"
    );
    // The tenant token survives too, and R1.5 still knows olga is onprem.
    expect(
        &s.call("GET", "/v1/tenants/contoso/lint", Some(&token), None),
        200,
    );
    let body = problem(
        &s.admin(
            "PUT",
            "/v1/tenants/contoso/upgrade-policy",
            Some(json!({"policy": "UpgradeToTeams"})),
        ),
        409,
        "TeamsOnlyNeedsOnlineHoming",
    );
    assert_eq!(body["users"], json!(["olga@contoso.test"]));
}

#[test]
fn healthz_metrics_and_the_generated_openapi_document() {
    let (_dir, s) = started();
    let health = s.call("GET", "/healthz", None, None);
    assert_eq!(expect(&health, 200)["status"], "ok");
    tenant(&s, "contoso", "contoso.test", "online");
    let openapi = s.call("GET", "/v1/openapi.json", None, None);
    let doc = expect(&openapi, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/tenants",
        "/v1/users/{upn}/upgrade-policy",
        "/v1/routing/explain",
        "/v1/tenants/{tenant}/users/import",
        "/v1/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    for schema in [
        "UserFields",
        "User",
        "Tenant",
        "EffectiveView",
        "ImportReport",
        "ProblemDoc",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "OpenAPI lacks schema {schema}"
        );
    }
    let user = &doc["components"]["schemas"]["User"]["properties"];
    assert!(
        user.get("has_password").is_some() && user.get("credentials").is_none(),
        "no secrets in the User schema"
    );
    let metrics = s.call("GET", "/metrics", None, None);
    let text = expect(&metrics, 200).as_str().unwrap().to_owned();
    assert!(
        text.contains(
            "coexist_http_requests_total{method=\"POST\",route=\"/v1/tenants\",status=\"201\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("coexist_directory_tenants 1"));
}

#[test]
fn the_admin_cli_speaks_cmdlets_with_tables_and_json() {
    let (dir, s) = started();
    let ok = |args: &[&str]| {
        let output = s.cli(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    ok(&[
        "new-tenant",
        "--name",
        "contoso",
        "--domain",
        "contoso.test",
        "--topology",
        "hybrid",
    ]);
    ok(&[
        "new-user",
        "--tenant",
        "contoso",
        "--identity",
        "alice@contoso.test",
        "--display-name",
        "Alice Smith",
    ]);
    ok(&[
        "new-user",
        "--tenant",
        "contoso",
        "--identity",
        "olga@contoso.test",
        "--sfb-homing",
        "onprem",
    ]);
    ok(&[
        "grant-upgrade-policy",
        "--identity",
        "alice@contoso.test",
        "--policy",
        "SfBOnly",
    ]);
    let json: Value = serde_json::from_str(&ok(&[
        "--json",
        "get-effective-mode",
        "--identity",
        "alice@contoso.test",
    ]))
    .unwrap();
    assert_eq!(json["TeamsUpgradeEffectiveMode"], "SfBOnly");
    let table = ok(&["get-user", "--tenant", "contoso"]);
    assert!(table.lines().next().unwrap().starts_with("UPN"), "{table}");
    assert!(table.contains("Alice Smith") && table.contains("SfBOnly"));

    // R1.5 refused: non-zero exit, the rule on stderr, nothing changed.
    let refused = s.cli(&[
        "grant-upgrade-policy",
        "--identity",
        "olga@contoso.test",
        "--policy",
        "UpgradeToTeams",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("409") && stderr.contains("R1.5"),
        "{stderr}"
    );

    let explained = ok(&[
        "explain",
        "--from",
        "olga@contoso.test",
        "--client",
        "teams",
        "--to",
        "alice@contoso.test",
    ]);
    assert!(
        explained.contains("OriginatorHomedOnPrem") && explained.contains("R3.2"),
        "{explained}"
    );
    assert!(ok(&["lint", "--tenant", "contoso"]).contains("R8.3"));
    // A phone number survives the query string (a bare `+` would read as a space).
    let pstn = ok(&[
        "--json",
        "explain",
        "--from",
        "alice@contoso.test",
        "--client",
        "sfb",
        "--to",
        "+33123456789",
    ]);
    let pstn: Value = serde_json::from_str(&pstn).unwrap();
    assert_eq!(
        (pstn["scope"].clone(), pstn["code"].clone()),
        (json!("pstn"), json!("NoVoice"))
    );

    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "upn,sfb_homing\nu1@contoso.test,online\nu2@contoso.test,cloud\n",
    )
    .unwrap();
    let bad = s.cli(&["import-users", csv.to_str().unwrap(), "--tenant", "contoso"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("sfb_homing"));
    std::fs::write(
        &csv,
        "upn,sfb_homing\nu1@contoso.test,online\nu2@contoso.test,onprem\n",
    )
    .unwrap();
    let dry = ok(&[
        "import-users",
        csv.to_str().unwrap(),
        "--tenant",
        "contoso",
        "--dry-run",
    ]);
    assert!(dry.contains("dry run"), "{dry}");
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso/users", None).body["total"],
        2
    );
    ok(&["import-users", csv.to_str().unwrap(), "--tenant", "contoso"]);
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso/users", None).body["total"],
        4
    );
    let audit = ok(&["audit", "--tenant", "contoso"]);
    assert!(audit.contains("import-users") && audit.contains("grant-upgrade-policy"));
}

#[test]
fn invalid_configuration_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(["serve", "--http", "nowhere", "--data-dir"])
        .arg(dir.path())
        .env_remove("COEXIST_HTTP")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("http.listen"));
    let config = dir.path().join("coexist.toml");
    std::fs::write(&config, "[admin]\ntoken = \"short\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("COEXIST_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("admin.token"));
    let example = std::process::Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(["config", "example"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&example.stdout).contains("COEXIST_DATA_DIR"));
}
