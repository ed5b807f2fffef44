//! Companies (SPEC section 11): a `companies` table that contacts and deals belong to. The
//! free-text `contacts.company` becomes companies: one per name, compared trimmed, with runs
//! of spaces as one and ignoring case (Unicode), so "Acme", " ACME " and "acme" are one
//! company, spelled as its earliest contact spelled it; blank names make none. A company is
//! owned by the user owning most of its contacts (the earliest contact's owner on a tie),
//! created when its earliest contact was. Each deal joins its contact's company. The text
//! column is dropped: the company's name is read from the company.

use std::collections::HashMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Companies {
    Table,
    Id,
    OwnerId,
    Name,
    Domain,
    Industry,
    Size,
    ExternalId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// Ids per `IN (…)` list, well below either engine's parameter limit.
const CHUNK: usize = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Companies::Table)
                .col(big_pk_auto(Companies::Id))
                .col(big_integer(Companies::OwnerId))
                .col(string_len(Companies::Name, 200))
                .col(string_len_null(Companies::Domain, 253))
                .col(string_len_null(Companies::Industry, 100))
                .col(integer_null(Companies::Size))
                .col(string_len_null(Companies::ExternalId, 255).unique_key())
                .col(integer(Companies::Version).default(1))
                .col(timestamp_with_time_zone(Companies::CreatedAt))
                .col(timestamp_with_time_zone(Companies::UpdatedAt))
                .col(timestamp_with_time_zone_null(Companies::DeletedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Companies::Table, Companies::OwnerId)
                        .to(Alias::new("users"), Alias::new("id"))
                        .on_delete(ForeignKeyAction::Restrict),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let backend = db.get_database_backend();
        let id_type = if backend == DatabaseBackend::Postgres { "BIGINT" } else { "INTEGER" };
        for table in ["contacts", "deals"] {
            // SQLite adds a column with a reference only by hand-written DDL.
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN company_id {id_type} NULL REFERENCES companies (id)"
            ))
            .await?;
        }
        for (table, name, columns) in [
            ("companies", "ix_companies_owner_created", &["owner_id", "created_at"][..]),
            ("companies", "ix_companies_created", &["created_at"][..]),
            ("companies", "ix_companies_updated", &["updated_at"][..]),
            ("contacts", "ix_contacts_company", &["company_id"][..]),
            ("deals", "ix_deals_company", &["company_id"][..]),
        ] {
            let mut index = Index::create().name(name).table(Alias::new(table)).to_owned();
            for column in columns {
                index.col(Alias::new(*column));
            }
            m.create_index(index).await?;
        }

        for company in companies_of_contacts(db).await? {
            let first = company.contacts[0];
            let created = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "INSERT INTO companies (owner_id, name, version, created_at, updated_at) \
                         SELECT ?, ?, 1, created_at, created_at FROM contacts WHERE id = ? RETURNING id",
                    ),
                    [company.owner_id.into(), company.name.into(), first.into()],
                ))
                .await?
                .ok_or_else(|| DbErr::Migration(format!("contact {first} vanished while migrating")))?;
            let company_id: i64 = created.try_get_by_index(0)?;
            for ids in company.contacts.chunks(CHUNK) {
                let list = vec!["?"; ids.len()].join(", ");
                let mut values: Vec<Value> = vec![company_id.into()];
                values.extend(ids.iter().map(|id| Value::from(*id)));
                db.execute_raw(Statement::from_sql_and_values(
                    backend,
                    placeholders(backend, &format!("UPDATE contacts SET company_id = ? WHERE id IN ({list})")),
                    values,
                ))
                .await?;
            }
        }
        db.execute_unprepared(
            "UPDATE deals SET company_id = (SELECT c.company_id FROM contacts c WHERE c.id = deals.contact_id) \
             WHERE contact_id IN (SELECT id FROM contacts WHERE company_id IS NOT NULL)",
        )
        .await?;
        m.alter_table(Table::alter().table(Alias::new("contacts")).drop_column(Alias::new("company")).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("contacts"))
                .add_column(ColumnDef::new(Alias::new("company")).string_len(200).null())
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "UPDATE contacts SET company = (SELECT name FROM companies WHERE companies.id = contacts.company_id)",
        )
        .await?;
        for (table, index) in [("contacts", "ix_contacts_company"), ("deals", "ix_deals_company")] {
            m.drop_index(Index::drop().name(index).table(Alias::new(table)).to_owned()).await?;
            m.alter_table(Table::alter().table(Alias::new(table)).drop_column(Alias::new("company_id")).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(Companies::Table).to_owned()).await
    }
}

/// One company to create from the contacts naming it.
struct NewCompany {
    name: String,
    owner_id: i64,
    /// Its contacts' ids, oldest first.
    contacts: Vec<i64>,
}

/// The companies the contacts' `company` texts name, in the order their first contacts were
/// created.
async fn companies_of_contacts(db: &impl ConnectionTrait) -> Result<Vec<NewCompany>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, owner_id, company FROM contacts WHERE company IS NOT NULL ORDER BY id",
        ))
        .await?;
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, (String, Vec<(i64, i64)>)> = HashMap::new();
    for row in rows {
        let (id, owner_id, text): (i64, i64, String) =
            (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?);
        let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            continue;
        }
        let key = name.to_lowercase();
        let group = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            (name, Vec::new())
        });
        group.1.push((id, owner_id));
    }
    Ok(order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .map(|(name, contacts)| NewCompany {
            name,
            owner_id: most_frequent_owner(&contacts),
            contacts: contacts.into_iter().map(|(id, _)| id).collect(),
        })
        .collect())
}

/// The owner of most of `contacts` (oldest first); on a tie the one whose contact is oldest.
fn most_frequent_owner(contacts: &[(i64, i64)]) -> i64 {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for (_, owner) in contacts {
        *counts.entry(*owner).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    contacts.iter().map(|(_, owner)| *owner).find(|owner| counts.get(owner) == Some(&most)).unwrap_or_default()
}

/// `?` placeholders as the engine numbers them.
fn placeholders(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_of_most_contacts_owns_the_company() {
        assert_eq!(most_frequent_owner(&[(1, 7), (2, 8), (3, 8)]), 8);
        assert_eq!(most_frequent_owner(&[(1, 7), (2, 8), (3, 8), (4, 7)]), 7);
        assert_eq!(placeholders(DatabaseBackend::Postgres, "a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
    }
}
