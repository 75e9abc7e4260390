//! The knowledge base: frequently asked questions per module and page, searched in full text.
//!
//! Search stems words, so "facturen" finds "factuur". PostgreSQL does it with its Dutch and
//! English text-search configurations (Snowball stemmers and stop words) over a generated
//! `tsvector`. SQLite's FTS5 has no Dutch stemmer, so this module stems the words itself with the
//! same Snowball algorithms (`rust-stemmers`), drops a short list of stop words, and stores the
//! stems in an FTS5 table. Both return at most [`CANDIDATES`] matches with their relevance; the
//! final order weighs relevance by popularity (views) the same way on both databases.
//!
//! Searching and reading are free: nothing here touches tickets or time entries.

use std::collections::HashMap;
use std::str::FromStr;

use dk_proto::convert::timestamp_from;
use dk_proto::support::v1 as pb;
use dk_runtime::auth::{Caller, Role};
use dk_runtime::idempotency::{self, Key};
use dk_runtime::status;
use rust_stemmers::{Algorithm, Stemmer};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, IntoActiveModel, QueryOrder, QuerySelect, Statement,
};
use tonic::Status;

use crate::entity::article;
use crate::tickets::{Tickets, begin, db, now};

/// Module codes an article can belong to; `algemeen` is the product as a whole.
pub const MODULES: &[&str] = &[
    "algemeen",
    "crm",
    "projecten-uren",
    "boekhouding",
    "handel",
    "personeelsmanagement",
    "facturatie",
    "documentbeheer",
    "voorraadbeheer",
];
/// Matches read from the database before ranking by popularity.
const CANDIDATES: u64 = 200;
const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 20_000;
const MAX_PAGE: usize = 200;
const MAX_URL: usize = 500;
const MAX_QUERY: usize = 200;
const MAX_LIMIT: i32 = 50;
const DEFAULT_LIMIT: i32 = 10;

/// Common Dutch and English words that carry no meaning for search, as PostgreSQL's
/// configurations drop them too.
const STOP_WORDS: &[&str] = &[
    "de", "het", "een", "en", "of", "in", "op", "te", "van", "voor", "met", "aan", "bij", "uit",
    "om", "naar", "dat", "die", "dit", "deze", "is", "zijn", "was", "wordt", "worden", "ik", "je",
    "jij", "u", "we", "wij", "ze", "zij", "hij", "mijn", "uw", "hoe", "wat", "waar", "wanneer",
    "kan", "kun", "kunt", "moet", "niet", "geen", "ook", "als", "dan", "er", "nog", "maar", "wel",
    "zo", "the", "a", "an", "and", "or", "to", "of", "for", "with", "on", "at", "by", "from",
    "how", "what", "where", "when", "do", "does", "i", "you", "my", "your", "can", "is", "are",
    "be", "it", "this", "that",
];

/// Returns the stems of the words of `text` in `language` (`nl` or `en`), without stop words.
pub fn stems(text: &str, language: &str) -> Vec<String> {
    let stemmer = Stemmer::create(if language == "en" {
        Algorithm::English
    } else {
        Algorithm::Dutch
    });
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .filter(|word| !STOP_WORDS.contains(&word.as_str()))
        .map(|word| stemmer.stem(&word).into_owned())
        .collect()
}

/// Returns the search score: relevance weighted by popularity, so that of two equally relevant
/// articles the more viewed one comes first.
pub fn score(relevance: f64, views: i64) -> f64 {
    let views = Ord::max(views, 0) as f64;
    relevance * (1.0 + (1.0 + views).ln() * 0.25)
}

fn language_of(text: &str) -> Result<&'static str, Status> {
    match text.trim() {
        "" | "nl" => Ok("nl"),
        "en" => Ok("en"),
        other => Err(status::invalid_argument(
            "language",
            format!("{other:?} is not a language: expected \"nl\" or \"en\""),
        )),
    }
}

fn module_of(text: &str, field: &str) -> Result<String, Status> {
    let module = text.trim().to_lowercase();
    if MODULES.contains(&module.as_str()) {
        Ok(module)
    } else {
        Err(status::invalid_argument(
            field,
            format!(
                "{text:?} is not a module: expected one of {}",
                MODULES.join(", ")
            ),
        ))
    }
}

fn limit_of(limit: i32) -> Result<u64, Status> {
    match limit {
        0 => Ok(DEFAULT_LIMIT as u64),
        1..=MAX_LIMIT => Ok(limit as u64),
        other => Err(status::invalid_argument(
            "limit",
            format!("{other}: expected 1 to {MAX_LIMIT}, or 0 for {DEFAULT_LIMIT}"),
        )),
    }
}

fn text_field(field: &str, value: &str, max: usize, required: bool) -> Result<String, Status> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(status::invalid_argument(field, "missing: expected text"));
    }
    if value.chars().count() > max {
        return Err(status::invalid_argument(
            field,
            format!("too long: expected at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

impl Tickets {
    pub async fn save_article(
        &self,
        caller: &Caller,
        request: pb::SaveArticleRequest,
    ) -> Result<pb::SaveArticleResponse, Status> {
        caller.require_staff(Role::SupportAgent, self.vendor())?;
        let key = Key::new(
            caller.organisation_id.as_uuid(),
            "SaveArticle",
            &request.idempotency_key,
            &request,
        )?;
        let module = module_of(&request.module, "module")?;
        let page = text_field("page", &request.page, MAX_PAGE, false)?;
        let title = text_field("title", &request.title, MAX_TITLE, true)?;
        let body = text_field("body", &request.body, MAX_BODY, true)?;
        let language = language_of(&request.language)?;
        let video_url = text_field("video_url", &request.video_url, MAX_URL, false)?;
        let is_web_address = video_url.starts_with("https://") || video_url.starts_with("http://");
        if !video_url.is_empty() && !is_web_address {
            return Err(status::invalid_argument(
                "video_url",
                format!("{video_url:?} is not a web address: expected https://…"),
            ));
        }
        let existing_id = match request.article_id.trim() {
            "" => None,
            text => Some(Uuid::from_str(text).map_err(|_| {
                status::invalid_argument(
                    "article_id",
                    format!(
                        "{text:?} is not a UUID: expected an article's id, or empty for a new one"
                    ),
                )
            })?),
        };

        let context = "saving an article";
        let transaction = begin(&self.db, context).await?;
        if let Some(response) = idempotency::replay(&transaction, &key).await? {
            return Ok(response);
        }
        let now = now();
        let (id, views, created_at) = match existing_id {
            None => (Uuid::now_v7(), 0, now),
            Some(id) => {
                let found = article::Entity::find_by_id(id)
                    .one(&transaction)
                    .await
                    .map_err(db(context))?
                    .ok_or_else(|| status::not_found("article", &id.to_string()))?;
                (id, found.views, found.created_at)
            }
        };
        let row = article::Model {
            id,
            module,
            page,
            title,
            body,
            video_url: (!video_url.is_empty()).then_some(video_url),
            language: language.to_owned(),
            views,
            created_at,
            updated_at: now,
        };
        let active = row.clone().into_active_model().reset_all();
        if existing_id.is_some() {
            active.update(&transaction).await.map_err(db(context))?;
        } else {
            active.insert(&transaction).await.map_err(db(context))?;
        }
        if transaction.get_database_backend() != DatabaseBackend::Postgres {
            let terms = stems(&format!("{} {}", row.title, row.body), language).join(" ");
            transaction
                .execute_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Sqlite,
                    "DELETE FROM kb_article_terms WHERE article_id = ?",
                    [row.id.to_string().into()],
                ))
                .await
                .map_err(db(context))?;
            transaction
                .execute_raw(Statement::from_sql_and_values(
                    DatabaseBackend::Sqlite,
                    "INSERT INTO kb_article_terms (article_id, terms) VALUES (?, ?)",
                    [row.id.to_string().into(), terms.into()],
                ))
                .await
                .map_err(db(context))?;
        }
        let response = pb::SaveArticleResponse {
            article: Some(article_to_proto(&row)),
        };
        idempotency::commit(transaction, &key, &response, context).await?;
        tracing::info!(article_id = %row.id, by = %caller.subject, "article saved");
        Ok(response)
    }

    pub async fn search_articles(
        &self,
        request: pb::SearchArticlesRequest,
    ) -> Result<pb::SearchArticlesResponse, Status> {
        let query = text_field("query", &request.query, MAX_QUERY, true)?;
        let language = language_of(&request.language)?;
        let module = match request.module.trim() {
            "" => None,
            text => Some(module_of(text, "module")?),
        };
        let limit = limit_of(request.limit)?;
        let context = "searching articles";
        let matches: Vec<(Uuid, f64)> = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let config = if language == "en" { "english" } else { "dutch" };
                let sql = format!(
                    "SELECT id, ts_rank(search_vector, plainto_tsquery('{config}', $1))::float8 \
                     AS relevance FROM kb_articles WHERE language = $2 \
                     AND search_vector @@ plainto_tsquery('{config}', $1) \
                     ORDER BY relevance DESC LIMIT {CANDIDATES}"
                );
                self.db
                    .query_all_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Postgres,
                        sql,
                        [query.clone().into(), language.into()],
                    ))
                    .await
                    .map_err(db(context))?
                    .iter()
                    .map(|row| {
                        Ok((
                            row.try_get::<Uuid>("", "id")?,
                            row.try_get::<f64>("", "relevance")?,
                        ))
                    })
                    .collect::<Result<_, DbErr>>()
                    .map_err(db(context))?
            }
            _ => {
                let terms = stems(&query, language);
                if terms.is_empty() {
                    Vec::new()
                } else {
                    // Each stem is quoted, so no word can be read as FTS5 query syntax.
                    let fts_query = terms
                        .iter()
                        .map(|term| format!("\"{}\"", term.replace('"', "")))
                        .collect::<Vec<_>>()
                        .join(" ");
                    let sql = format!(
                        "SELECT article_id, -bm25(kb_article_terms) AS relevance \
                         FROM kb_article_terms WHERE kb_article_terms MATCH ? \
                         ORDER BY relevance DESC LIMIT {CANDIDATES}"
                    );
                    self.db
                        .query_all_raw(Statement::from_sql_and_values(
                            DatabaseBackend::Sqlite,
                            sql,
                            [fts_query.into()],
                        ))
                        .await
                        .map_err(db(context))?
                        .iter()
                        .filter_map(|row| {
                            let id = row.try_get::<String>("", "article_id").ok()?;
                            let relevance = row.try_get::<f64>("", "relevance").ok()?;
                            Some((Uuid::from_str(&id).ok()?, relevance))
                        })
                        .collect()
                }
            }
        };
        if matches.is_empty() {
            return Ok(pb::SearchArticlesResponse { hits: Vec::new() });
        }
        let relevance: HashMap<Uuid, f64> = matches.iter().copied().collect();
        let mut rows = article::Entity::find()
            .filter(article::Column::Id.is_in(relevance.keys().copied()))
            .filter(article::Column::Language.eq(language));
        if let Some(module) = &module {
            rows = rows.filter(article::Column::Module.eq(module.clone()));
        }
        let mut hits: Vec<(f64, article::Model)> = rows
            .all(&self.db)
            .await
            .map_err(db(context))?
            .into_iter()
            .map(|row| (score(relevance[&row.id], row.views), row))
            .collect();
        hits.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.id.cmp(&right.1.id)));
        hits.truncate(limit as usize);
        Ok(pb::SearchArticlesResponse {
            hits: hits
                .iter()
                .map(|(score, row)| pb::ArticleHit {
                    article: Some(article_to_proto(row)),
                    score: *score,
                })
                .collect(),
        })
    }

    pub async fn get_article(
        &self,
        request: pb::GetArticleRequest,
    ) -> Result<pb::GetArticleResponse, Status> {
        let text = request.article_id.trim();
        let id = Uuid::from_str(text).map_err(|_| {
            status::invalid_argument(
                "article_id",
                format!("{text:?} is not a UUID: expected an article's id"),
            )
        })?;
        let context = "reading an article";
        let updated = article::Entity::update_many()
            .col_expr(
                article::Column::Views,
                Expr::col(article::Column::Views).add(1),
            )
            .filter(article::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(db(context))?;
        if updated.rows_affected == 0 {
            return Err(status::not_found("article", &id.to_string()));
        }
        let row = article::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(db(context))?
            .ok_or_else(|| status::not_found("article", &id.to_string()))?;
        Ok(pb::GetArticleResponse {
            article: Some(article_to_proto(&row)),
        })
    }

    pub async fn popular_articles(
        &self,
        request: pb::ListPopularArticlesRequest,
    ) -> Result<pb::ListPopularArticlesResponse, Status> {
        let module = module_of(&request.module, "module")?;
        let language = language_of(&request.language)?;
        let limit = limit_of(request.limit)?;
        let rows = article::Entity::find()
            .filter(article::Column::Module.eq(module))
            .filter(article::Column::Language.eq(language))
            .order_by_desc(article::Column::Views)
            .order_by_asc(article::Column::Title)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db("listing popular articles"))?;
        Ok(pb::ListPopularArticlesResponse {
            articles: rows.iter().map(article_to_proto).collect(),
        })
    }
}

fn article_to_proto(row: &article::Model) -> pb::Article {
    pb::Article {
        article_id: row.id.to_string(),
        module: row.module.clone(),
        page: row.page.clone(),
        title: row.title.clone(),
        body: row.body.clone(),
        video_url: row.video_url.clone().unwrap_or_default(),
        language: row.language.clone(),
        views: row.views,
        update_time: Some(timestamp_from(row.updated_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_plural_and_singular_share_a_stem() {
        assert_eq!(stems("facturen", "nl"), stems("factuur", "nl"));
        assert_eq!(stems("bankkoppelingen", "nl"), stems("bankkoppeling", "nl"));
        assert_eq!(stems("Hoe maak ik een factuur?", "nl"), ["mak", "factur"]);
    }

    #[test]
    fn english_uses_the_english_stemmer() {
        assert_eq!(stems("invoices", "en"), stems("invoice", "en"));
    }

    #[test]
    fn popularity_breaks_ties_but_relevance_leads() {
        assert!(score(1.0, 100) > score(1.0, 0));
        assert!(score(2.0, 0) > score(1.0, 10));
        assert!(score(1.0, -5) == score(1.0, 0));
    }
}
