//! `coexist serve` and its admin API, black-box: the real binary on port 0
//! in a temporary directory, talked to over HTTP. Rule ids (RULES.md) are
//! named in the test names and comments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod server;

use serde_json::{Value, json};
use server::{Server, audit_len, expect, grant, problem, started, tenant, user};

#[test]
fn first_start_prints_the_admin_token_once_and_keeps_it_0600() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    assert!(
        server.banner.iter().any(|l| l.contains(&server.token)),
        "token printed on first start: {:?}",
        server.banner
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("admin-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = server.token.clone();
    assert!(server.stop().success(), "graceful stop exits 0");
    let again = Server::start(&data);
    assert_eq!(again.token, token);
    assert!(
        !again.banner.iter().any(|l| l.contains(&token)),
        "printed once only"
    );
    assert_eq!(again.banner.len(), 1);
}

#[test]
fn r1_3_effective_mode_user_grant_then_tenant_grant_then_islands() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    user(
        &s,
        "contoso",
        "alice@contoso.test",
        json!({"display_name": "Alice", "password": "correct horse"}),
    );
    let effective = |s: &Server| s.admin("GET", "/v1/users/alice@contoso.test/effective", None);
    let view = effective(&s);
    assert_eq!(expect(&view, 200)["TeamsUpgradeEffectiveMode"], "Islands");
    assert_eq!(view.body["TeamsUpgradePolicySource"], "default");

    let answer = s.admin(
        "PUT",
        "/v1/tenants/contoso/upgrade-policy",
        Some(json!({"policy": "SfBWithTeamsCollabWithNotify"})),
    );
    expect(&answer, 200);
    let view = effective(&s);
    assert_eq!(view.body["TeamsUpgradeEffectiveMode"], "SfBWithTeamsCollab");
    assert_eq!(view.body["TeamsUpgradeNotificationsEnabled"], true, "R1.4");
    assert_eq!(view.body["TeamsUpgradePolicySource"], "tenant");

    let granted = grant(&s, "alice@contoso.test", json!("UpgradeToTeams"));
    assert_eq!(
        expect(&granted, 200)["TeamsUpgradeEffectiveMode"],
        "TeamsOnly"
    );
    // Visible at once (R1.3: no propagation delay).
    assert_eq!(effective(&s).body["TeamsUpgradeEffectiveMode"], "TeamsOnly");

    // A grant of "no policy" removes the user's own grant.
    expect(&grant(&s, "alice@contoso.test", Value::Null), 200);
    assert_eq!(
        effective(&s).body["TeamsUpgradeEffectiveMode"],
        "SfBWithTeamsCollab"
    );

    // R1.3: every change is in the audit log with who, what, before, after, when.
    let audit = s.admin("GET", "/v1/audit?target=alice@contoso.test", None);
    let entries = expect(&audit, 200)["entries"].as_array().unwrap().clone();
    let grants: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "grant-upgrade-policy")
        .collect();
    assert_eq!(grants.len(), 2);
    assert_eq!(grants[0]["actor"], "admin");
    assert_eq!(grants[0]["before"]["upgrade_policy"], Value::Null);
    assert_eq!(grants[0]["after"]["upgrade_policy"], "UpgradeToTeams");
    assert_eq!(grants[1]["before"]["upgrade_policy"], "UpgradeToTeams");
    assert!(grants[0]["at"].as_str().unwrap().ends_with('Z'));
    // Never the password, nor its hashes.
    let text = audit.body.to_string();
    assert!(!text.contains("correct horse") && !text.contains("argon2") && !text.contains("ha1"));
}

#[test]
fn r1_5_teams_only_for_onprem_users_is_409_naming_them_and_changes_nothing() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    user(
        &s,
        "contoso",
        "bob@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    user(
        &s,
        "contoso",
        "carol@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    user(&s, "contoso", "dave@contoso.test", json!({}));
    let before = audit_len(&s);

    let body = problem(
        &grant(&s, "bob@contoso.test", json!("UpgradeToTeams")),
        409,
        "TeamsOnlyNeedsOnlineHoming",
    );
    assert_eq!(body["rule"], "R1.5");
    assert_eq!(body["users"], json!(["bob@contoso.test"]));

    let answer = s.admin(
        "PUT",
        "/v1/tenants/contoso/upgrade-policy",
        Some(json!({"policy": "UpgradeToTeams"})),
    );
    let body = problem(&answer, 409, "TeamsOnlyNeedsOnlineHoming");
    assert_eq!(body["rule"], "R1.5");
    assert_eq!(
        body["users"],
        json!(["bob@contoso.test", "carol@contoso.test"])
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("carol@contoso.test")
    );

    // Nothing changed.
    assert_eq!(audit_len(&s), before);
    let view = s.admin("GET", "/v1/users/bob@contoso.test/effective", None);
    assert_eq!(view.body["TeamsUpgradeEffectiveMode"], "Islands");
    assert_eq!(
        s.admin("GET", "/v1/tenants/contoso", None).body["upgrade_policy"],
        Value::Null
    );
    // An online user may be upgraded.
    expect(
        &grant(&s, "dave@contoso.test", json!("UpgradeToTeams")),
        200,
    );
}

#[test]
fn explain_returns_the_verdict_and_rule_trail_for_real_users_r3() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    tenant(&s, "fabrikam", "fabrikam.test", "online");
    user(&s, "contoso", "alice@contoso.test", json!({}));
    user(
        &s,
        "contoso",
        "olga@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    user(&s, "contoso", "sam@contoso.test", json!({}));
    user(&s, "fabrikam", "fred@fabrikam.test", json!({}));
    expect(&grant(&s, "sam@contoso.test", json!("SfBOnly")), 200);
    let explain = |from: &str, client: &str, to: &str| {
        s.admin(
            "GET",
            &format!("/v1/routing/explain?from={from}&client={client}&to={to}"),
            None,
        )
    };

    // R3.1: Islands teams → SfB* lands on sfb by interop (table 1b).
    let answer = explain("alice@contoso.test", "teams", "sam@contoso.test");
    let verdict = expect(&answer, 200);
    assert_eq!(verdict["possible"], true);
    assert_eq!(verdict["lands_on"], "sfb");
    assert_eq!(verdict["method"], "interop");
    assert_eq!(verdict["scope"], "in-tenant");
    assert!(
        verdict["rules"]
            .as_array()
            .unwrap()
            .contains(&json!("R3.1"))
    );
    assert_eq!(verdict["to"]["mode"], "SfBOnly");

    // R3.2: teams originator homed onprem cannot interop.
    let answer = explain("olga@contoso.test", "teams", "sam@contoso.test");
    let verdict = expect(&answer, 200);
    assert_eq!(verdict["possible"], false);
    assert_eq!(verdict["code"], "OriginatorHomedOnPrem");
    assert_eq!(verdict["rule"], "R3.2");

    // A grant is seen by the next decision (R1.3): sam TeamsOnly → teams.
    expect(&grant(&s, "sam@contoso.test", json!("UpgradeToTeams")), 200);
    let answer = explain("alice@contoso.test", "sfb", "sam@contoso.test");
    assert_eq!(answer.body["lands_on"], "teams");
    assert_eq!(answer.body["method"], "interop");

    // R3.4: federation is off by default…
    let answer = explain("alice@contoso.test", "sfb", "fred@fabrikam.test");
    assert_eq!(answer.body["code"], "FederationNotAllowed");
    assert_eq!(answer.body["rule"], "R3.4");
    assert_eq!(answer.body["scope"], "federated");
    // …and once both tenants allow it, a federated Islands recipient gets sfb (R3.1).
    for t in ["contoso", "fabrikam"] {
        let body = json!({"sfb_federation": true, "teams_federation": true});
        expect(
            &s.admin("PUT", &format!("/v1/tenants/{t}/federation"), Some(body)),
            200,
        );
    }
    let answer = explain("alice@contoso.test", "teams", "fred@fabrikam.test");
    assert_eq!(answer.body["lands_on"], "sfb");
    assert_eq!(answer.body["method"], "federated");
    // A block list closes it again.
    let body = json!({"sfb_federation": true, "teams_federation": true, "blocked_domains": ["contoso.test"]});
    expect(
        &s.admin("PUT", "/v1/tenants/fabrikam/federation", Some(body)),
        200,
    );
    assert_eq!(
        explain("alice@contoso.test", "teams", "fred@fabrikam.test").body["code"],
        "FederationNotAllowed"
    );

    // Bad queries name the parameter; unknown users are 404.
    let body = problem(
        &explain("alice@contoso.test", "skype", "sam@contoso.test"),
        400,
        "InvalidField",
    );
    assert_eq!(body["field"], "client");
    problem(
        &explain("nobody@contoso.test", "teams", "sam@contoso.test"),
        404,
        "UnknownUser",
    );
    problem(
        &explain("alice@contoso.test", "teams", "nobody@contoso.test"),
        404,
        "UnknownUser",
    );
    let body = problem(
        &s.admin(
            "GET",
            "/v1/routing/explain?from=alice@contoso.test&client=teams",
            None,
        ),
        400,
        "InvalidField",
    );
    assert_eq!(body["field"], "to");
}

#[test]
fn lint_reports_r8_findings_over_the_real_tenant() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    let lint = |s: &Server| s.admin("GET", "/v1/tenants/contoso/lint", None);
    user(&s, "contoso", "alice@contoso.test", json!({}));
    assert_eq!(expect(&lint(&s), 200)["findings"], json!([]));

    user(
        &s,
        "contoso",
        "olga@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    user(
        &s,
        "contoso",
        "sam@contoso.test",
        json!({"specialized_workflow": true}),
    );
    user(
        &s,
        "contoso",
        "hank@contoso.test",
        json!({"voice": "hybrid", "phone_number": "+14255550100"}),
    );
    expect(&grant(&s, "sam@contoso.test", json!("SfBOnly")), 200);
    expect(
        &grant(&s, "hank@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    let answer = lint(&s);
    let findings = expect(&answer, 200)["findings"].as_array().unwrap().clone();
    let find = |rule: &str| findings.iter().find(|f| f["rule"] == rule).cloned();
    // R8.2: Hybrid Voice whose calls land in teams is an error.
    let r8_2 = find("R8.2").expect("R8.2 finding");
    assert_eq!(r8_2["severity"], "error");
    assert_eq!(r8_2["users"], json!(["hank@contoso.test"]));
    // R8.3: onprem Islands users cannot reach SfB* users from teams.
    let r8_3 = find("R8.3").expect("R8.3 finding");
    assert_eq!(r8_3["users"], json!(["olga@contoso.test"]));
    assert_eq!(r8_3["related"], json!(["sam@contoso.test"]));
    // R8.5 is quiet: sam is in an SfB* mode.
    assert!(find("R8.5").is_none());
    assert_eq!(answer.body["users"], 4);
}

#[test]
fn legacy_interop_policies_and_the_r9_4_conversion_dry_run() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    user(
        &s,
        "contoso",
        "olga@contoso.test",
        json!({"sfb_homing": "onprem"}),
    );
    user(&s, "contoso", "tom@contoso.test", json!({}));
    user(&s, "contoso", "mia@contoso.test", json!({}));
    let policies = s.admin("GET", "/v1/interop-policies", None);
    assert_eq!(
        expect(&policies, 200)["policies"].as_array().unwrap().len(),
        4
    );

    let custom = json!({"name": "ChatTeamsCallSfb", "ChatDefaultClient": "Teams", "CallingDefaultClient": "SfB"});
    expect(&s.admin("POST", "/v1/interop-policies", Some(custom)), 201);
    let bad = json!({"name": "X", "ChatDefaultClient": "Skype", "CallingDefaultClient": "SfB"});
    assert_eq!(
        problem(
            &s.admin("POST", "/v1/interop-policies", Some(bad)),
            400,
            "InvalidField"
        )["field"],
        "ChatDefaultClient"
    );

    let assign = |upn: &str, policy: &str| {
        s.admin(
            "PUT",
            &format!("/v1/users/{upn}/interop-policy"),
            Some(json!({"policy": policy})),
        )
    };
    expect(
        &assign("olga@contoso.test", "DisallowOverrideCallingTeamsChatTeams"),
        200,
    );
    expect(
        &assign("tom@contoso.test", "disallowoverridecallingsfbchatsfb"),
        200,
    );
    expect(&assign("mia@contoso.test", "ChatTeamsCallSfb"), 200);
    assert_eq!(
        problem(&assign("mia@contoso.test", "Nope"), 400, "InvalidField")["field"],
        "policy"
    );

    let before = audit_len(&s);
    let answer = s.admin("GET", "/v1/tenants/contoso/interop-conversion", None);
    let report = expect(&answer, 200);
    assert_eq!(report["dry_run"], true);
    let line = |upn: &str| {
        report["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["upn"] == upn)
            .cloned()
            .unwrap()
    };
    // R9.4 with R1.5: Teams/Teams for a user homed onprem is refused.
    assert_eq!(line("olga@contoso.test")["refusal"]["rule"], "R1.5");
    assert_eq!(line("tom@contoso.test")["policy"], "SfBWithTeamsCollab");
    assert_eq!(line("mia@contoso.test")["policy"], "Islands");
    assert!(line("mia@contoso.test")["warning"].as_str().is_some());
    // A dry run changes nothing.
    assert_eq!(audit_len(&s), before);
    assert_eq!(
        s.admin("GET", "/v1/users/tom@contoso.test/effective", None)
            .body["TeamsUpgradeEffectiveMode"],
        "Islands"
    );
    // R8.1: the onprem user with Teams legacy defaults cannot receive chats and calls.
    let lint = s.admin("GET", "/v1/tenants/contoso/lint", None);
    assert!(
        lint.body["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "R8.1")
    );

    // Applying is all or nothing: olga's R1.5 refusal refuses everyone.
    let applied = s.admin("POST", "/v1/tenants/contoso/interop-conversion", None);
    let body = problem(&applied, 409, "TeamsOnlyNeedsOnlineHoming");
    assert_eq!(
        (body["rule"].clone(), body["users"].clone()),
        (json!("R1.5"), json!(["olga@contoso.test"]))
    );
    assert_eq!(audit_len(&s), before);
    // Once olga is moved online, the conversion goes through.
    let moved = s.admin(
        "PATCH",
        "/v1/users/olga@contoso.test",
        Some(json!({"sfb_homing": "online"})),
    );
    expect(&moved, 200);
    let applied = s.admin("POST", "/v1/tenants/contoso/interop-conversion", None);
    assert_eq!(expect(&applied, 200)["converted"], 3);
    let mode = |upn: &str| {
        s.admin("GET", &format!("/v1/users/{upn}/effective"), None)
            .body
    };
    assert_eq!(
        mode("olga@contoso.test")["TeamsUpgradeEffectiveMode"],
        "TeamsOnly"
    );
    assert_eq!(
        mode("tom@contoso.test")["TeamsUpgradeEffectiveMode"],
        "SfBWithTeamsCollab"
    );
    assert_eq!(mode("mia@contoso.test")["TeamsUpgradePolicySource"], "user");
    assert_eq!(mode("mia@contoso.test")["TeamsInteropPolicy"], Value::Null);
    assert_eq!(audit_len(&s), before + 4, "one set-user, three conversions");
    let report = s.admin("GET", "/v1/tenants/contoso/interop-conversion", None);
    assert_eq!(report.body["users"], json!([]), "nothing left to convert");
}

#[test]
fn bulk_import_reports_bad_lines_applies_all_or_nothing_and_dry_runs() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    let import = |csv: &str, dry: bool| {
        let path = format!(
            "/v1/tenants/contoso/users/import{}",
            if dry { "?dry_run=true" } else { "" }
        );
        s.raw(
            "POST",
            &path,
            Some(&s.token),
            Some(csv.as_bytes()),
            "text/csv",
        )
    };
    let total = |s: &Server| {
        s.admin("GET", "/v1/tenants/contoso/users?limit=1", None)
            .body["total"]
            .clone()
    };
    let before = audit_len(&s);

    let bad = "upn,display_name,sfb_homing,voice,phone_number,policy,teams_enabled\n\
               a@contoso.test,A,online,none,,Legacy,true\n\
               b@contoso.test,B,cloud,none,,,true\n\
               c@fabrikam.test,C,online,none,,,true\n\
               d@contoso.test,D,onprem,none,,UpgradeToTeams,true\n\
               e@contoso.test,E,online,none,12345,,true\n\
               a@contoso.test,A again,online,none,,,true\n\
               f@contoso.test,F,online,none,,,maybe\n";
    let answer = import(bad, false);
    let body = problem(&answer, 422, "ImportRejected");
    let errors: Vec<(u64, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (3, "sfb_homing"),
        (4, "upn"),
        (5, "upn"),
        (6, "phone_number"),
        (7, "upn"),
        (8, "teams_enabled"),
    ]
    .iter()
    .map(|(line, field)| (*line, (*field).to_owned()))
    .collect();
    assert_eq!(errors, expected, "per-line report: {body}");
    // Line 5 is refused by R1.5, and says so.
    assert_eq!(body["errors"][2]["rule"], "R1.5");
    assert_eq!(body["applied"], false);
    assert_eq!(total(&s), 0, "all or nothing: nothing imported");
    assert_eq!(audit_len(&s), before);

    let good = "upn,display_name,password,sfb_homing,voice,phone_number,policy\n\
                a@contoso.test,A,password-a,online,online,+14255550101,Legacy\n\
                b@contoso.test,B,,onprem,hybrid,,SfBOnly\n\
                c@contoso.test,C,,online,none,,\n";
    let answer = import(good, true);
    let report = expect(&answer, 200);
    assert_eq!(
        (report["dry_run"].clone(), report["applied"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(report["valid"], 3);
    assert_eq!(
        report["notes"][0]["rule"], "R1.1",
        "Legacy converted to Islands with a note"
    );
    assert_eq!(total(&s), 0, "a dry run changes nothing");
    assert_eq!(audit_len(&s), before);

    let answer = import(good, false);
    let report = expect(&answer, 200);
    assert_eq!(
        (report["applied"].clone(), report["created"].clone()),
        (json!(true), json!(3))
    );
    assert_eq!(total(&s), 3);
    assert_eq!(
        s.admin("GET", "/v1/users/b@contoso.test/effective", None)
            .body["TeamsUpgradeEffectiveMode"],
        "SfBOnly"
    );
    assert_eq!(
        s.admin("GET", "/v1/users/a@contoso.test", None).body["has_password"],
        true
    );
    assert_eq!(audit_len(&s), before + 1);
    // Importing the same users again: every line is a duplicate.
    let body = problem(&import(good, false), 422, "ImportRejected");
    assert_eq!(body["errors"].as_array().unwrap().len(), 3);
    // A file with an unknown column is refused as a whole, naming the header.
    let body = problem(
        &import("upn,shoe_size\nx@contoso.test,42\n", false),
        400,
        "InvalidField",
    );
    assert_eq!(body["field"], "header");
}

#[test]
fn r1_5_also_guards_homing_changes_and_tenant_grants_apply_to_new_users() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    user(&s, "contoso", "tina@contoso.test", json!({}));
    expect(
        &grant(&s, "tina@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    // Moving a TeamsOnly user onprem would make them TeamsOnly-onprem: refused.
    let moved = s.admin(
        "PATCH",
        "/v1/users/tina@contoso.test",
        Some(json!({"sfb_homing": "onprem"})),
    );
    assert_eq!(
        problem(&moved, 409, "TeamsOnlyNeedsOnlineHoming")["rule"],
        "R1.5"
    );
    assert_eq!(
        s.admin("GET", "/v1/users/tina@contoso.test", None).body["sfb_homing"],
        "online"
    );
    // Other changes go through and are audited with before and after.
    let patched = s.admin(
        "PATCH",
        "/v1/users/tina@contoso.test",
        Some(json!({"display_name": "Tina T", "voice": "online"})),
    );
    assert_eq!(expect(&patched, 200)["display_name"], "Tina T");
    let audit = s.admin("GET", "/v1/audit?target=tina@contoso.test", None);
    let last = audit.body["entries"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (
            last["action"].clone(),
            last["before"]["voice"].clone(),
            last["after"]["voice"].clone()
        ),
        (json!("set-user"), json!("none"), json!("online"))
    );

    // A tenant-wide TeamsOnly grant (no onprem users) reaches users created later (R1.3)…
    expect(
        &s.admin(
            "PUT",
            "/v1/tenants/contoso/upgrade-policy",
            Some(json!({"policy": "UpgradeToTeams"})),
        ),
        200,
    );
    user(&s, "contoso", "newbie@contoso.test", json!({}));
    assert_eq!(
        s.admin("GET", "/v1/users/newbie@contoso.test/effective", None)
            .body["TeamsUpgradeEffectiveMode"],
        "TeamsOnly"
    );
    // …and so an onprem user cannot join unless given their own non-TeamsOnly grant (R1.5).
    let onprem = s.admin(
        "POST",
        "/v1/tenants/contoso/users",
        Some(json!({"upn": "olga@contoso.test", "sfb_homing": "onprem"})),
    );
    assert_eq!(
        problem(&onprem, 409, "TeamsOnlyNeedsOnlineHoming")["users"],
        json!(["olga@contoso.test"])
    );
    problem(
        &s.admin("GET", "/v1/users/olga@contoso.test", None),
        404,
        "UnknownUser",
    );
}

#[test]
fn explain_to_a_phone_number_routes_to_its_owner_or_out_to_pstn_r6_4() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    user(
        &s,
        "contoso",
        "tina@contoso.test",
        json!({"voice": "online"}),
    );
    user(
        &s,
        "contoso",
        "sam@contoso.test",
        json!({"voice": "none", "phone_number": "+14255550123"}),
    );
    expect(
        &grant(&s, "tina@contoso.test", json!("UpgradeToTeams")),
        200,
    );
    let explain = |from: &str, client: &str, to: &str| {
        let to = to.replace('+', "%2B");
        s.admin(
            "GET",
            &format!("/v1/routing/explain?from={from}&client={client}&to={to}"),
            None,
        )
    };
    // A number a user owns is that user (R3).
    let answer = explain("tina@contoso.test", "teams", "+14255550123");
    assert_eq!(expect(&answer, 200)["to"]["upn"], "sam@contoso.test");
    assert_eq!(answer.body["lands_on"], "teams");
    // Any other number is the phone network: TeamsOnly with online voice may call from teams (R6.4)…
    let answer = explain("tina@contoso.test", "teams", "+33123456789");
    assert_eq!(expect(&answer, 200)["method"], "pstn");
    assert_eq!(answer.body["possible"], true);
    // …a user with no voice may not.
    let answer = explain("sam@contoso.test", "teams", "+33123456789");
    assert_eq!(answer.body["code"], "NoVoice");
    assert_eq!(answer.body["rule"], "R6.4");
}

#[test]
fn tenants_can_be_changed_and_removed_with_their_users() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "online");
    user(&s, "contoso", "alice@contoso.test", json!({}));
    let patched = s.admin(
        "PATCH",
        "/v1/tenants/contoso",
        Some(json!({"topology": "hybrid", "domains": ["contoso.test", "contoso.example"]})),
    );
    assert_eq!(expect(&patched, 200)["topology"], "hybrid");
    user(&s, "contoso", "bob@contoso.example", json!({}));
    // A domain still in use cannot be dropped.
    let dropped = s.admin(
        "PATCH",
        "/v1/tenants/contoso",
        Some(json!({"domains": ["contoso.test"]})),
    );
    assert_eq!(problem(&dropped, 409, "AlreadyExists")["field"], "domains");
    expect(
        &s.admin("DELETE", "/v1/users/bob@contoso.example", None),
        204,
    );
    problem(
        &s.admin("GET", "/v1/users/bob@contoso.example", None),
        404,
        "UnknownUser",
    );
    expect(&s.admin("DELETE", "/v1/tenants/contoso", None), 204);
    problem(
        &s.admin("GET", "/v1/tenants/contoso", None),
        404,
        "UnknownTenant",
    );
    problem(
        &s.admin("GET", "/v1/users/alice@contoso.test", None),
        404,
        "UnknownUser",
    );
    // The audit log keeps the history of what is gone.
    let audit = s.admin("GET", "/v1/audit?tenant=contoso", None);
    let actions: Vec<String> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "new-tenant",
            "new-user",
            "set-tenant",
            "new-user",
            "remove-user",
            "remove-tenant"
        ]
    );
    // The name and domains are free again.
    tenant(&s, "contoso", "contoso.test", "online");
}

#[test]
fn peer_links_are_kept_per_tenant_validated_and_audited() {
    let (_dir, s) = started();
    tenant(&s, "contoso", "contoso.test", "hybrid");
    let put = |path: &str, body: Value| {
        s.admin(
            "PUT",
            &format!("/v1/tenants/contoso/peers/{path}"),
            Some(body),
        )
    };
    let peer = put(
        "hybrid/onprem",
        json!({"address": "sfb.contoso.test:5061", "transport": "tcp"}),
    );
    assert_eq!(expect(&peer, 200)["kind"], "hybrid");
    // R10.2: one hybrid peer per tenant.
    let second = put("hybrid/other", json!({"address": "10.0.0.2:5060"}));
    assert_eq!(problem(&second, 409, "AlreadyExists")["field"], "name");
    // A federation peer must say which domains it reaches (R3.4).
    let bare = put(
        "federation/partner",
        json!({"address": "sip.fabrikam.test:5060"}),
    );
    assert_eq!(problem(&bare, 400, "InvalidField")["field"], "domains");
    expect(
        &put(
            "federation/partner",
            json!({"address": "sip.fabrikam.test:5060", "domains": ["fabrikam.test"]}),
        ),
        200,
    );
    expect(
        &put("pstn/trunk", json!({"address": "192.0.2.10:5060"})),
        200,
    );
    for (path, body, field) in [
        ("pstn/trunk", json!({"address": "no-port"}), "address"),
        ("pstn/trunk", json!({"address": "gw.test:0"}), "address"),
        (
            "pstn/trunk",
            json!({"address": "gw.test:5060", "transport": "sctp"}),
            "transport",
        ),
        (
            "carrier-pigeon/x",
            json!({"address": "gw.test:5060"}),
            "kind",
        ),
    ] {
        assert_eq!(
            problem(&put(path, body), 400, "InvalidField")["field"],
            field,
            "{path}"
        );
    }
    let peers = s.admin("GET", "/v1/tenants/contoso/peers", None);
    let names: Vec<String> = expect(&peers, 200)["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["kind"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["hybrid/onprem", "federation/partner", "pstn/trunk"]);
    expect(
        &s.admin("DELETE", "/v1/tenants/contoso/peers/pstn/trunk", None),
        204,
    );
    problem(
        &s.admin("DELETE", "/v1/tenants/contoso/peers/pstn/trunk", None),
        404,
        "UnknownPeer",
    );
    let audit = s.admin("GET", "/v1/audit?target=pstn/trunk", None);
    assert_eq!(audit.body["entries"].as_array().unwrap().len(), 2);
    // Through the CLI too.
    let output = s.cli(&["get-peer", "--tenant", "contoso"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("sfb.contoso.test:5061") && !text.contains("192.0.2.10"),
        "{text}"
    );
    let set_gw2 = |address: &str| {
        s.cli(&[
            "set-peer",
            "--tenant",
            "contoso",
            "--kind",
            "pstn",
            "--name",
            "gw2",
            "--address",
            address,
        ])
    };
    // R6: a gateway's name must resolve (the SIP edge knows it by its
    // addresses); `localhost` does.
    let unresolved = set_gw2("gw2.contoso.test:5060");
    assert!(!unresolved.status.success());
    let stderr = String::from_utf8_lossy(&unresolved.stderr);
    assert!(
        stderr.contains("InvalidField") && stderr.contains("does not resolve"),
        "{stderr}"
    );
    let set = set_gw2("localhost:5060");
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let removed = s.cli(&[
        "remove-peer",
        "--tenant",
        "contoso",
        "--kind",
        "pstn",
        "--name",
        "gw2",
    ]);
    assert!(removed.status.success());
    let again = s.cli(&[
        "remove-peer",
        "--tenant",
        "contoso",
        "--kind",
        "pstn",
        "--name",
        "gw2",
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("404 UnknownPeer"));
}
