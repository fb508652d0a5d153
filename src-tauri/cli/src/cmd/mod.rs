//! The commands.

mod audit;
mod bots;
mod demo;
mod migrate;
mod platforms;
mod pools;
mod queue;
mod schedule;
mod secret;
mod serve;
mod settings;
mod sim;
mod slots;
mod status;
mod tokens;
mod watch;
mod webhooks;

use crate::cli::{
    BotsCommand, Command, PlatformsCommand, SecretCommand, SettingsCommand, SimCommand,
    TokensCommand, WebhooksCommand,
};
use crate::output::{Ctx, Failure};

/// Runs one command.
pub async fn run(command: Command, ctx: Ctx) -> Result<(), Failure> {
    let done = match command {
        Command::Migrate => migrate::run(ctx).await,
        Command::Serve(args) => serve::run(ctx, args).await,
        Command::Status => status::run(ctx).await,
        Command::Slots(mut args) => match args.action.take() {
            Some(action) => return slots::act(ctx, action).await,
            None => slots::run(ctx, args).await,
        },
        Command::Queue => queue::run(ctx).await,
        Command::Bots(BotsCommand::Create(args)) => bots::create(ctx, args).await,
        Command::Bots(BotsCommand::Status(args)) => bots::report(ctx, args).await,
        Command::Bots(BotsCommand::Cancel { id, reason }) => bots::cancel(ctx, id, reason).await,
        Command::Bots(BotsCommand::Priority {
            id,
            priority,
            reason,
        }) => bots::priority(ctx, id, priority, reason).await,
        Command::Bots(BotsCommand::Reroute {
            id,
            platform,
            clear: _,
            reason,
        }) => bots::reroute(ctx, id, platform, reason).await,
        Command::Bots(BotsCommand::Redeploy { id, reason }) => {
            bots::redeploy(ctx, id, reason).await
        }
        Command::Bots(BotsCommand::Show { id }) => bots::show(ctx, id).await,
        Command::Bots(BotsCommand::Move { id, join_at }) => {
            schedule::reschedule(ctx, id, join_at).await
        }
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
        Command::Platforms(PlatformsCommand::Drain(args)) => {
            platforms::drain(ctx, args, true).await
        }
        Command::Platforms(PlatformsCommand::Undrain(args)) => {
            platforms::drain(ctx, args, false).await
        }
        Command::Settings(SettingsCommand::Show) => settings::show(ctx).await,
        Command::Settings(SettingsCommand::Set(args)) => settings::set(ctx, args).await,
        Command::Audit(args) => audit::run(ctx, args).await,
    };
    Ok(done?)
}
