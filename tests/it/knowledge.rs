//! The knowledge base: staff write articles, everyone searches them in Dutch with stemming on
//! both databases, views make articles popular, and none of it creates billable time.

use dk_proto::support::v1 as support;
use dk_testkit::{BusKind, DatabaseKind, Stack, SupportClient};
use tonic::Code;

use crate::*;

fn article(module: &str, title: &str, body: &str) -> support::SaveArticleRequest {
    support::SaveArticleRequest {
        idempotency_key: key(),
        article_id: String::new(),
        module: module.into(),
        page: "facturen/nieuw".into(),
        title: title.into(),
        body: body.into(),
        video_url: String::new(),
        language: String::new(),
    }
}

async fn save(agent: &mut SupportClient, request: support::SaveArticleRequest) -> support::Article {
    agent
        .save_article(request)
        .await
        .expect("save article")
        .into_inner()
        .article
        .expect("article")
}

async fn search(client: &mut SupportClient, query: &str) -> Vec<support::ArticleHit> {
    client
        .search_articles(support::SearchArticlesRequest {
            query: query.into(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner()
        .hits
}

async fn check_knowledge_base(stack: &Stack) {
    let mut agent = stack.support_agent_client().await.expect("agent");
    let mut customer = stack
        .support_client(stack.organisation)
        .await
        .expect("client");

    let invoice = save(
        &mut agent,
        article(
            "facturatie",
            "Een factuur maken",
            "Kies Nieuwe factuur, vul de klant en de regels in en verstuur de factuur per e-mail.",
        ),
    )
    .await;
    let reminder = save(
        &mut agent,
        article(
            "facturatie",
            "Herinneringen sturen",
            "Openstaande facturen krijgen na de vervaldatum een herinnering.",
        ),
    )
    .await;
    let bank = save(
        &mut agent,
        article(
            "boekhouding",
            "De bankkoppeling instellen",
            "Koppel uw rekening voor automatische bankmutaties.",
        ),
    )
    .await;

    // The plural finds the singular and the other way round.
    let hits = search(&mut customer, "facturen").await;
    let found: Vec<&str> = hits
        .iter()
        .map(|hit| hit.article.as_ref().expect("article").article_id.as_str())
        .collect();
    assert!(found.contains(&invoice.article_id.as_str()), "{found:?}");
    assert!(found.contains(&reminder.article_id.as_str()), "{found:?}");
    assert!(!found.contains(&bank.article_id.as_str()), "{found:?}");
    let hits = search(&mut customer, "bankkoppelingen").await;
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].article.as_ref().expect("article").article_id,
        bank.article_id
    );
    // Stop words do not stop a match.
    assert!(
        !search(&mut customer, "hoe maak ik een factuur")
            .await
            .is_empty()
    );
    assert!(search(&mut customer, "salarisstrook").await.is_empty());

    // Views make an article popular and lift it in equally relevant results.
    for _ in 0..3 {
        customer
            .get_article(support::GetArticleRequest {
                article_id: reminder.article_id.clone(),
            })
            .await
            .expect("read article");
    }
    let popular = customer
        .list_popular_articles(support::ListPopularArticlesRequest {
            module: "facturatie".into(),
            ..Default::default()
        })
        .await
        .expect("popular")
        .into_inner()
        .articles;
    assert_eq!(popular[0].article_id, reminder.article_id);
    assert_eq!(popular[0].views, 3);
    assert_eq!(popular.len(), 2);

    // Changing an article keeps its views and updates the search.
    let changed = save(
        &mut agent,
        support::SaveArticleRequest {
            article_id: bank.article_id.clone(),
            ..article(
                "boekhouding",
                "De bankkoppeling instellen",
                "Koppel uw rekening; daarna komen salarisstroken niet mee.",
            )
        },
    )
    .await;
    assert_eq!(changed.article_id, bank.article_id);
    assert_eq!(search(&mut customer, "salarisstrook").await.len(), 1);

    // Reading and searching are free: no ticket and no time.
    let tickets = customer
        .list_tickets(support::ListTicketsRequest::default())
        .await
        .expect("tickets")
        .into_inner()
        .tickets;
    assert!(tickets.is_empty());
}

#[tokio::test]
async fn articles_are_found_by_stem_on_postgres() {
    let stack = Stack::start().await.expect("stack");
    check_knowledge_base(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn articles_are_found_by_stem_embedded() {
    let stack = Stack::start_with(BusKind::InProcess, DatabaseKind::Sqlite)
        .await
        .expect("stack");
    check_knowledge_base(&stack).await;
    stack.stop().await.expect("stop");
}

#[tokio::test]
async fn articles_reject_customers_and_bad_values() {
    let stack = Stack::start().await.expect("stack");
    let mut agent = stack.support_agent_client().await.expect("agent");
    let mut customer = stack
        .support_client(stack.organisation)
        .await
        .expect("client");
    let denied = customer
        .save_article(article("crm", "Titel", "Tekst"))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let cases = [
        (article("salaris", "Titel", "Tekst"), "module"),
        (article("crm", " ", "Tekst"), "title"),
        (article("crm", "Titel", ""), "body"),
        (
            support::SaveArticleRequest {
                video_url: "ftp://video".into(),
                ..article("crm", "Titel", "Tekst")
            },
            "video_url",
        ),
        (
            support::SaveArticleRequest {
                language: "de".into(),
                ..article("crm", "Titel", "Tekst")
            },
            "language",
        ),
    ];
    for (request, field) in cases {
        let status = agent.save_article(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().starts_with(field), "{}", status.message());
    }
    let empty = customer
        .search_articles(support::SearchArticlesRequest::default())
        .await
        .unwrap_err();
    assert!(empty.message().starts_with("query"), "{}", empty.message());
    let unknown = customer
        .get_article(support::GetArticleRequest {
            article_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    stack.stop().await.expect("stop");
}
