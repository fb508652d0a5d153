//! The commands.

mod bots;
mod demo;
mod migrate;
mod pools;
mod queue;
mod secret;
mod serve;
mod sim;
mod slots;
mod status;
mod tokens;
mod watch;
mod webhooks;

use crate::cli::{BotsCommand, Command, SecretCommand, SimCommand, TokensCommand, WebhooksCommand};
use crate::output::{Ctx, Failure};

/// Runs one command.
pub async fn run(command: Command, ctx: Ctx) -> Result<(), Failure> {
    let done = match command {
        Command::Migrate => migrate::run(ctx).await,
        Command::Serve(args) => serve::run(ctx, args).await,
        Command::Status => status::run(ctx).await,
        Command::Slots(args) => slots::run(ctx, args).await,
        Command::Queue => queue::run(ctx).await,
        Command::Bots(BotsCommand::Create(args)) => bots::create(ctx, args).await,
        Command::Bots(BotsCommand::Status(args)) => bots::report(ctx, args).await,
        Command::Bots(BotsCommand::Cancel { id }) => bots::cancel(ctx, id).await,
        Command::Bots(BotsCommand::Show { id }) => bots::show(ctx, id).await,
        Command::Bots(BotsCommand::List(args)) => bots::list(ctx, args).await,
        Command::Watch => watch::run(ctx).await,
        Command::Demo(args) => demo::run(ctx, args).await,
        Command::Sim(SimCommand::Set(args)) => sim::set(ctx, args).await,
        Command::Sim(SimCommand::Show) => sim::show(ctx).await,
        Command::Pools(args) => return pools::run(ctx, args).await,
        Command::Secret(SecretCommand::Set { platform }) => secret::set(ctx, platform),
        Command::Tokens(TokensCommand::Create { scope, name }) => {
            tokens::create(ctx, scope, &name).await
        }
        Command::Tokens(TokensCommand::List) => tokens::list(ctx).await,
        Command::Tokens(TokensCommand::Revoke { name }) => tokens::revoke(ctx, &name).await,
        Command::Webhooks(WebhooksCommand::Add { url, events, name }) => {
            webhooks::add(ctx, url, events, name).await
        }
        Command::Webhooks(WebhooksCommand::List) => webhooks::list(ctx).await,
        Command::Webhooks(WebhooksCommand::Remove { name }) => webhooks::remove(ctx, name).await,
        Command::Webhooks(WebhooksCommand::Log { name, limit }) => {
            webhooks::log(ctx, name, limit).await
        }
        Command::Webhooks(WebhooksCommand::BotSecret) => webhooks::bot_secret(ctx).await,
    };
    Ok(done?)
}
