//! How answers are shown to people: aligned tables and `key : value` lines.

use serde_json::{Value, json};

pub(super) fn problem_text(status: u16, problem: &Value) -> String {
    let field = |k: &str| problem.get(k).and_then(Value::as_str).unwrap_or("");
    let rule = field("rule");
    let mut text = format!(
        "{status} {}{}: {}",
        field("code"),
        if rule.is_empty() {
            String::new()
        } else {
            format!(" ({rule})")
        },
        field("detail")
    );
    if let Some(errors) = problem.get("errors").and_then(Value::as_array) {
        text.push('\n');
        text.push_str(&issues_table(errors));
    }
    text
}

pub(super) fn issues_table(issues: &[Value]) -> String {
    table(
        &["LINE", "FIELD", "RULE", "REASON"],
        issues
            .iter()
            .map(|i| {
                vec![
                    cell(&i["line"]),
                    cell(&i["field"]),
                    cell(&i["rule"]),
                    cell(&i["reason"]),
                ]
            })
            .collect(),
    )
}

/// A JSON value as a table cell.
pub(super) fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Left-aligned columns.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(value.chars().count());
            }
        }
    }
    let line = |values: Vec<String>| {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<width$}", width = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(headers.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

pub(super) fn rows(items: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| keys.iter().map(|k| cell(&item[*k])).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// `key: value` lines for an object.
pub(super) fn details(value: &Value) -> String {
    match value.as_object() {
        Some(object) => {
            let width = object.keys().map(String::len).max().unwrap_or(0);
            object
                .iter()
                .map(|(k, v)| format!("{k:<width$} : {}", cell(v)))
                .collect::<Vec<_>>()
                .join("\n")
        }
        None => cell(value),
    }
}

pub(super) fn explain_text(value: &Value) -> String {
    let mut out = if value["possible"] == json!(true) {
        format!(
            "lands on {} ({})",
            cell(&value["lands_on"]),
            cell(&value["method"])
        )
    } else {
        format!(
            "not possible: {} ({}): {}",
            cell(&value["code"]),
            cell(&value["rule"]),
            cell(&value["reason"])
        )
    };
    out.push_str(&format!(
        "\nfrom {} [{}, {}] using {} to {} [{}] ({})",
        cell(&value["from"]["upn"]),
        cell(&value["from"]["mode"]),
        cell(&value["from"]["sfb_homing"]),
        cell(&value["client"]),
        cell(&value["to"]["upn"]),
        cell(&value["to"]["mode"]),
        cell(&value["scope"])
    ));
    for step in value["steps"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {:<6} {}",
            cell(&step["rule"]),
            cell(&step["note"])
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_trim_line_ends() {
        let text = table(
            &["UPN", "MODE"],
            vec![
                vec!["alice@contoso.test".into(), "TeamsOnly".into()],
                vec!["bo@x.test".into(), String::new()],
            ],
        );
        assert_eq!(
            text,
            "UPN                 MODE\nalice@contoso.test  TeamsOnly\nbo@x.test"
        );
    }

    #[test]
    fn problems_read_as_status_code_rule_and_detail() {
        let problem = json!({"code": "TeamsOnlyNeedsOnlineHoming", "rule": "R1.5", "detail": "no"});
        assert_eq!(
            problem_text(409, &problem),
            "409 TeamsOnlyNeedsOnlineHoming (R1.5): no"
        );
        assert_eq!(cell(&json!(["a", "b"])), "a,b");
        assert_eq!(cell(&Value::Null), "");
    }
}
