//! `vibe import` through the library, on the configured backend.

use vibe::import::{import_file, ImportError, ImportOptions};

use crate::helpers::{dump, facebook_csv, scalar, stderr, stdout, TestDb};

#[tokio::test]
async fn facebook_export_imports_all_posts_and_twice_changes_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let report = import_file(&store, &facebook_csv(), &ImportOptions::default())
        .await
        .expect("import");
    assert_eq!(report.format.as_str(), "facebook");
    assert_eq!(report.rows, 500);
    assert!(report.skipped.is_empty());
    assert_eq!(report.stats.posts, 500);
    // The empty cells of the published file, by column, with their lines.
    assert_eq!(report.missing.by_column["like"], (1, vec![113]));
    assert_eq!(
        report.missing.by_column["share"],
        (4, vec![113, 122, 126, 166])
    );
    assert_eq!(report.missing.by_column["paid"], (1, vec![501]));
    assert_eq!(report.missing.total(), 6);

    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM posts").await,
        Some(500)
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM post_snapshots").await,
        Some(500)
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM post_snapshots WHERE likes IS NULL"
        )
        .await,
        Some(1)
    );
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM post_snapshots WHERE shares IS NULL"
        )
        .await,
        Some(4)
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM posts WHERE paid IS NULL").await,
        Some(1)
    );
    // The first row (December, weekday 4 = Wednesday, 3 o'clock) is placed on 2014-12-31.
    let first = chrono::NaiveDate::from_ymd_opt(2014, 12, 31)
        .unwrap()
        .and_hms_opt(3, 0, 0)
        .unwrap();
    let sql = format!(
        "SELECT COUNT(*) FROM posts WHERE published_at = {}",
        first.and_utc().timestamp()
    );
    assert!(scalar(&store, &sql).await >= Some(1));
    // Monthly sums from the rollups equal the CSV's sums by Post Month.
    for (month, reach, impressions) in [
        (12, 488_288, 887_525),
        (7, 1_017_634, 1_737_885),
        (1, 308_898, 235_251),
    ] {
        let sql = format!(
            "SELECT CAST(SUM(reach) AS BIGINT) FROM account_daily WHERE day LIKE '2014-{month:02}-%'"
        );
        assert_eq!(
            scalar(&store, &sql).await,
            Some(reach),
            "reach in month {month}"
        );
        let sql = sql.replace(
            "CAST(SUM(reach) AS BIGINT)",
            "CAST(SUM(impressions) AS BIGINT)",
        );
        assert_eq!(
            scalar(&store, &sql).await,
            Some(impressions),
            "impressions in month {month}"
        );
    }

    let before = dump(&store).await;
    let again = import_file(&store, &facebook_csv(), &ImportOptions::default())
        .await
        .expect("again");
    assert_eq!(again.rows, 500);
    assert_eq!(
        dump(&store).await,
        before,
        "importing twice changes nothing"
    );
    store.close().await;
    db.cleanup().await;
}

const HEADER: &str = "platform,account,post_id,observed_at,likes,reach\n";

fn rows(n: usize, broken_at: Option<usize>) -> String {
    let mut s = HEADER.to_string();
    for i in 0..n {
        let likes = if Some(i) == broken_at {
            "lots".to_string()
        } else {
            (i * 3).to_string()
        };
        s.push_str(&format!(
            "instagram,acme,p{i},2026-03-0{}T12:00:00Z,{likes},{}\n",
            1 + i % 5,
            i * 10
        ));
    }
    s
}

#[tokio::test]
async fn a_broken_row_leaves_the_database_as_it_was_and_is_named() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let good = db.write("good.csv", &rows(3, None));
    import_file(&store, &good, &ImportOptions::default())
        .await
        .expect("good file");
    let before = dump(&store).await;

    // 1,200 rows with batches of 500: the broken row comes after a batch was already written.
    let broken = db.write("broken.csv", &rows(1200, Some(700)));
    let err = import_file(&store, &broken, &ImportOptions::default())
        .await
        .expect_err("must fail");
    let ImportError::Invalid { issues, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(issues.len(), 1);
    assert_eq!(
        issues[0].line, 702,
        "row 700 of the data is line 702 with the header"
    );
    assert_eq!(issues[0].column.as_deref(), Some("likes"));
    assert!(issues[0].message.contains("\"lots\" is not a whole number"));
    assert_eq!(dump(&store).await, before);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn skip_invalid_writes_the_rest_and_lists_what_it_skipped() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let broken = db.write("broken.csv", &rows(10, Some(4)));
    let opts = ImportOptions {
        skip_invalid: true,
        ..ImportOptions::default()
    };
    let report = import_file(&store, &broken, &opts).await.expect("import");
    assert_eq!(report.rows, 10);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, 6);
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM post_snapshots").await,
        Some(9)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn json_lines_and_funnel_rows() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let file = db.write(
        "data.jsonl",
        "{\"platform\":\"tiktok\",\"account\":\"acme\",\"brand\":\"Acme\",\"post_id\":\"7\",\"observed_at\":\"2026-03-01T10:00:00Z\",\"views\":1000,\"likes\":80}\n\
         {\"platform\":\"tiktok\",\"account\":\"acme\",\"observed_at\":\"2026-03-01T22:00:00Z\",\"followers\":5000}\n\
         {\"day\":\"2026-03-01\",\"platform\":\"tiktok\",\"campaign\":\"launch\",\"account\":\"acme\",\"spend\":\"120.50\",\"leads\":6,\"revenue\":300}\n",
    );
    let report = import_file(&store, &file, &ImportOptions::default())
        .await
        .expect("import");
    assert_eq!(report.format.as_str(), "jsonl");
    assert_eq!(
        (
            report.stats.post_snapshots,
            report.stats.account_snapshots,
            report.stats.funnel_days
        ),
        (1, 1, 1)
    );
    assert_eq!(
        scalar(&store, "SELECT spend_cents FROM funnel_daily").await,
        Some(12050)
    );
    assert_eq!(
        scalar(&store, "SELECT followers FROM account_daily").await,
        Some(5000)
    );
    assert_eq!(
        scalar(&store, "SELECT views FROM account_daily").await,
        Some(1000)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unknown_file_is_refused_with_a_reason() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let file = db.write("people.csv", "name,age\nbob,3\n");
    let err = import_file(&store, &file, &ImportOptions::default())
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("--format"), "{err}");
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn small_files_read_well_and_over_precise_amounts_are_rounded_with_a_warning() {
    let db = TestDb::new().await;
    let header = db.write("header.csv", "platform,account,followers,observed_at\n");
    let out = db.vibe(&["import", header.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(": 0 rows in "), "{text}");
    assert!(
        text.contains("warning: the file held no data rows, only a header"),
        "{text}"
    );
    assert!(!text.contains("rows/s"), "{text}");

    let funnel = db.write(
        "funnel.csv",
        "day,platform,campaign,spend,leads\n2026-03-01,x,launch,120.505,6\n",
    );
    let out = db.vibe(&["import", funnel.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(": 1 row in "), "{text}");
    assert!(
        text.contains("warning: column spend: 1 amount with more decimals than cents, rounded to the cent (line 2)"),
        "{text}"
    );
    let store = db.store().await;
    assert_eq!(
        scalar(&store, "SELECT spend_cents FROM funnel_daily").await,
        Some(12051)
    );

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "platform,account,followers,observed_at\nx,a,1,2026-03-01\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let path = db.dir.path().join("utf16.csv");
    std::fs::write(&path, utf16).unwrap();
    let out = db.vibe(&["import", path.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("UTF-16") && stderr(&out).contains("save it as UTF-8"),
        "{}",
        stderr(&out)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_row_is_reported_with_every_problem_it_has() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let file = db.write(
        "bad.csv",
        "platform,account,post_id,observed_at,likes,comments,followers\n\
         x,acme,1,not-a-date,lots,-3,12\n\
         x,acme,2,2026-03-01T10:00:00Z,5,oops,12\n",
    );
    let err = import_file(&store, &file, &ImportOptions::default())
        .await
        .expect_err("must fail");
    let ImportError::Invalid { issues, .. } = err else {
        panic!("{err}")
    };
    assert_eq!(issues.len(), 2, "{issues:?}");
    let first = &issues[0];
    assert_eq!((first.line, first.column.as_deref()), (2, None));
    for needle in [
        "3 problems",
        "column observed_at: \"not-a-date\" is not a date",
        "column likes: \"lots\"",
        "column comments: -3 is negative",
    ] {
        assert!(
            first.message.contains(needle),
            "{needle:?} in {}",
            first.message
        );
    }
    // One problem is reported as before, with its column.
    assert_eq!(
        (issues[1].line, issues[1].column.as_deref()),
        (3, Some("comments"))
    );
    store.close().await;
    db.cleanup().await;
}
