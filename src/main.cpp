// cloudjet: one binary for the five CloudJet services and their maintenance commands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/app.hpp"
#include "app/gateway_aliases.hpp"
#include "app/seed.hpp"
#include "core/clock.hpp"
#include "core/http_client.hpp"
#include "core/local_time.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/migrations.hpp"
#include "core/otlp_exporter.hpp"
#include "core/security.hpp"
#include "http/server.hpp"
#include "services/auth/store.hpp"

namespace {

struct CommonFlags {
  std::string data_dir;
  std::string env_file;
};

struct ServeFlags {
  std::string services;
  int single_port = 0;
  bool no_seed = false;
  bool no_migrate = false;
};

int fail(const std::string& message) {
  std::fprintf(stderr, "cloudjet: %s\n", message.c_str());
  return 2;
}

// Environment, .env file and flags → a validated Config (exits with a message naming the bad
// variable otherwise).
cj::Result<cj::Config> configure(const CommonFlags& common, const ServeFlags* serve) {
  cj::ConfigSources sources;
  sources.env = cj::environment_snapshot();
  const std::string env_file = common.env_file.empty() ? ".env" : common.env_file;
  if (std::ifstream in(env_file); in) {
    std::stringstream text;
    text << in.rdbuf();
    sources.dotenv = cj::parse_dotenv(text.str());
  } else if (!common.env_file.empty()) {
    return cj::Error{0, "config", "cannot read " + env_file, "cannot read " + env_file};
  }
  if (!common.data_dir.empty()) sources.flags["CLOUDJET_DATA_DIR"] = common.data_dir;
  if (serve != nullptr) {
    if (!serve->services.empty()) sources.flags["SERVICES"] = serve->services;
    if (serve->single_port != 0) sources.flags["SINGLE_PORT"] = std::to_string(serve->single_port);
  }
  auto config = cj::load_config(sources);
  if (!config) return config.error();
  if (auto st = cj::prepare_data_dir(*config); !st) return st.error();
  // Before anything reads the clock (seed dates, migrations' log lines, the services): every
  // command of a test setup agrees on "now".
  if (config->fake_now_unix) cj::clock::start_at(*config->fake_now_unix);
  return config;
}

// Config → open database (migrated) → App.
cj::Result<std::unique_ptr<cj::App>> open_migrated(cj::Config config) {
  auto app = cj::open_app(std::move(config));
  if (!app) return app.error();
  auto applied = cj::db::migrate(*(*app)->db);
  if (!applied) return applied.error();
  return app;
}

// Config → open database, which must be migrated already (serve --no-migrate: on Kubernetes a
// PreSync Job migrates, and a Deployment started against an older schema must not serve it).
cj::Result<std::unique_ptr<cj::App>> open_already_migrated(cj::Config config) {
  auto app = cj::open_app(std::move(config));
  if (!app) return app.error();
  auto pending = cj::db::pending_migrations(*(*app)->db);
  if (!pending) return pending.error();
  if (!pending->empty()) {
    std::string names;
    for (const auto& n : *pending) {
      if (!names.empty()) names += ", ";
      names += n;
    }
    const std::string message = "the database has " + std::to_string(pending->size()) +
                                " pending migration(s): " + names +
                                "; run `cloudjet migrate` first (--no-migrate does not migrate)";
    return cj::Error{0, "pending_migrations", message, message};
  }
  return app;
}

// Demo data is for trying CloudJet out: only the embedded SQLite database of a development
// setup gets it by itself. A MySQL/MariaDB database, or any production one, is someone's real
// catalogue; it gets demo data only from an explicit `cloudjet seed --demo`.
bool auto_seeds(const cj::Config& config) {
  return config.db.kind == cj::DbKind::Sqlite && !config.production;
}

void print_admin(const cj::AdminSeed& admin) {
  if (!admin.generated_password.empty()) {
    // Printed once, on the console only (never logged): the operator's only copy.
    std::printf(
        "\n  Admin account created: admin@cloudjet.com\n"
        "  Generated password (shown only now): %s\n"
        "  Set CLOUDJET_ADMIN_PASSWORD to choose it yourself.\n\n",
        admin.generated_password.c_str());
    std::fflush(stdout);
  }
}

// Creates or repairs the admin account. In production stdout is a log stream, so a generated
// password printed there would be a secret in the logs: production makes the account only from
// CLOUDJET_ADMIN_PASSWORD (or, any time later, with `cloudjet user create-admin`).
cj::Result<cj::Unit> ensure_admin_account(cj::App& a) {
  if (a.config.production && !a.config.admin_password) {
    cj::log::warn(
        "CLOUDJET_ADMIN_PASSWORD is not set: the admin account is neither created nor changed "
        "(production never generates a password); use `cloudjet user create-admin`");
    return cj::Unit{};
  }
  auto admin = cj::ensure_admin(a);
  if (!admin) return admin.error();
  print_admin(*admin);
  return cj::Unit{};
}

int run_serve(const CommonFlags& common, const ServeFlags& flags) {
  cj::http::block_shutdown_signals();
  auto config = configure(common, &flags);
  if (!config) return fail(config.error().message_en);
  cj::log::init(config->log_level);
  // Spans are recorded only with an OTLP endpoint; trace ids reach the logs either way.
  std::unique_ptr<cj::trace::OtlpExporter> exporter;
  if (config->trace.enabled()) {
    exporter = std::make_unique<cj::trace::OtlpExporter>(
        cj::trace::OtlpExporter::Options{config->trace, true});
    cj::trace::set_sink(exporter.get());
    cj::log::info("exporting traces (OTLP/HTTP JSON)", {{"endpoint", config->trace.endpoint}});
  }
  if (config->secret_key_generated) {
    cj::log::warn(
        "SECRET_KEY not set: using a generated key kept in the data dir "
        "(development only; production refuses to start without SECRET_KEY)",
        {{"data_dir", config->data_dir}});
  }
  if (config->fake_now_unix) {
    cj::log::warn("CLOUDJET_FAKE_NOW is set: the service clock started at a fake instant",
                  {{"fake_now", cj::local_time::format_utc(*config->fake_now_unix)}});
  }
  // Departures are airport-local times: without the tz database nothing could be sold.
  if (auto st = cj::local_time::check_tz_database(); !st) return fail(st.error().message_en);
  auto app = flags.no_migrate ? open_already_migrated(*config) : open_migrated(*config);
  if (!app) return fail(app.error().message_en);
  cj::App& a = **app;

  if (!flags.no_seed && auto_seeds(a.config)) {
    auto created = cj::seed_demo_if_empty(*a.db);
    if (!created) return fail(created.error().message_en);
    if (*created) cj::log::info("demo data seeded", {{"schedules", **created}});
  } else if (!flags.no_seed) {
    auto empty = cj::database_is_empty(*a.db);
    if (!empty) return fail(empty.error().message_en);
    if (*empty) {
      cj::log::info(
          "the database has no flights; demo data is seeded automatically only into the "
          "embedded SQLite database outside production (run `cloudjet seed --demo` to add it)");
    }
  }
  if (auto admin = ensure_admin_account(a); !admin) return fail(admin.error().message_en);

  const auto services = cj::build_services(a);
  std::vector<cj::http::Listener> listeners;
  std::vector<const cj::http::Service*> selected;
  for (const auto& s : services) {
    const auto& wanted = a.config.services;
    if (std::find(wanted.begin(), wanted.end(), s.name) != wanted.end()) selected.push_back(&s);
  }
  // One port = CloudJet is its own gateway: it also serves the original gateway's rewrites.
  const cj::http::Service aliases = cj::gateway_aliases(selected);
  if (a.config.single_port) {
    if (!aliases.routes.empty()) selected.push_back(&aliases);
    listeners.push_back({*a.config.single_port, selected});
  } else {
    for (const auto* s : selected) listeners.push_back({s->port, {s}});
  }
  // METRICS_PORT: a listener with no service routes, only GET /metrics and GET /ready.
  const cj::http::Service metrics_only{"metrics", a.config.metrics_port.value_or(0), {}};
  if (a.config.metrics_port) listeners.push_back({*a.config.metrics_port, {&metrics_only}});
  cj::metrics::Registry::instance().set_pool_probe([&a] { return a.db->in_use(); },
                                                   a.db->pool_size());
  auto& registry = cj::metrics::Registry::instance();
  registry.add_gauge_probe(
      "cloudjet_cache_bytes", "Bytes held by the in-process response cache", {{"cache", "catalog"}},
      [&a] { return static_cast<double>(a.catalog_cache->backend().stats().bytes); });
  registry.add_gauge_probe(
      "cloudjet_cache_entries", "Entries in the in-process response cache", {{"cache", "catalog"}},
      [&a] { return static_cast<double>(a.catalog_cache->backend().stats().entries); });
  registry.add_gauge_probe("cloudjet_log_lines_dropped",
                           "Log lines dropped since start because stdout could not keep up", {},
                           [] { return static_cast<double>(cj::log::dropped_lines()); });

  a.refunds->start();
  // Bookings are the booking service's data: processes serving it complete departed ones.
  const auto& served = a.config.services;
  const auto serves = [&served](const char* name) {
    return std::find(served.begin(), served.end(), name) != served.end();
  };
  if (serves("booking")) {
    a.completions->start();
    a.hold_sweeper->start();
  }
  if (serves("payment")) a.orphan_refunder->start();
  cj::http::ServerHooks hooks;
  hooks.ready = [&a] { return a.db->ping(); };
  auto st = cj::http::serve(a.config, listeners, hooks, [&] {
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& l : listeners) {
      std::string names;
      for (const auto* s : l.services) names += (names.empty() ? "" : ",") + s->name;
      addresses.push_back(
          {{"services", names},
           {"url", "http://" + a.config.bind_address + ":" + std::to_string(l.port)}});
      // In production stdout is a log stream (Loki, kubectl logs): JSON lines only.
      if (!a.config.production) {
        std::printf("cloudjet: %s listening on http://%s:%d\n", names.c_str(),
                    a.config.bind_address.c_str(), l.port);
      }
    }
    if (!a.config.production) {
      std::printf(
          "cloudjet: database %s; admin login: admin@cloudjet.com (password: "
          "CLOUDJET_ADMIN_PASSWORD, or the one printed at first start)\n",
          a.db->is_sqlite() ? a.config.db.sqlite_path.c_str() : "MySQL/MariaDB");
      std::fflush(stdout);
    }
    cj::log::info("listening", {{"listeners", std::move(addresses)}});
  });
  a.refunds->stop();
  a.completions->stop();
  a.hold_sweeper->stop();
  a.orphan_refunder->stop();
  if (exporter) {
    // Every thread that makes spans has stopped: send what is queued, briefly.
    cj::trace::set_sink(nullptr);
    exporter->shutdown(std::chrono::milliseconds(3000));
  }
  cj::log::info("stopped");
  cj::log::drain();
  if (!st) return fail(st.error().message_en);
  return 0;
}

int run_migrate(const CommonFlags& common) {
  auto config = configure(common, nullptr);
  if (!config) return fail(config.error().message_en);
  cj::log::init(config->log_level);
  auto app = cj::open_app(*config);
  if (!app) return fail(app.error().message_en);
  auto applied = cj::db::migrate(*(*app)->db);
  cj::log::flush();
  if (!applied) return fail(applied.error().message_en);
  std::printf("cloudjet: %zu migration(s) applied\n", applied->size());
  return 0;
}

int run_seed(const CommonFlags& common, bool demo) {
  auto config = configure(common, nullptr);
  if (!config) return fail(config.error().message_en);
  cj::log::init(config->log_level);
  auto app = open_migrated(*config);
  if (!app) return fail(app.error().message_en);
  if (demo) {
    auto created = cj::seed_demo(*(*app)->db);
    if (!created) return fail(created.error().message_en);
    std::printf("cloudjet: demo data present (%d new schedules)\n", *created);
  }
  auto admin = ensure_admin_account(**app);
  cj::log::flush();
  if (!admin) return fail(admin.error().message_en);
  return 0;
}

int run_create_admin(const CommonFlags& common, const std::string& email, const std::string& name) {
  auto config = configure(common, nullptr);
  if (!config) return fail(config.error().message_en);
  cj::log::init(config->log_level);
  std::string password;
  if (const char* p = std::getenv("CLOUDJET_NEW_ADMIN_PASSWORD"); p != nullptr && *p != 0) {
    password = p;
  } else {
    std::fprintf(stderr, "Password for %s: ", email.c_str());
    std::getline(std::cin, password);
  }
  if (password.size() < 8) return fail("the password must be at least 8 characters");
  auto app = open_migrated(*config);
  if (!app) return fail(app.error().message_en);
  cj::auth::AuthStore store(*(*app)->db);
  auto created = store.upsert_admin(email, name, cj::security::hash_password(password));
  cj::log::flush();
  if (!created) return fail(created.error().message_en);
  std::printf("cloudjet: admin %s %s\n", email.c_str(), *created ? "created" : "updated");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (!cj::security::init()) return fail("cannot initialise libsodium");
  cj::net::init_http_client();

  CLI::App cli{"CloudJet airline booking backend"};
  cli.require_subcommand(1);
  CommonFlags common;
  cli.add_option("--data-dir", common.data_dir, "Data directory (SQLite file, generated keys)")
      ->envname("CLOUDJET_DATA_DIR");
  cli.add_option("--env-file", common.env_file, "Read variables from this file (default ./.env)");

  ServeFlags serve;
  auto* serve_cmd = cli.add_subcommand("serve", "Run services (all five by default)");
  serve_cmd->add_option("--services", serve.services,
                        "Comma-separated subset of auth,flight,booking,admin,payment");
  serve_cmd
      ->add_option("--single-port", serve.single_port, "Serve all selected services on one port")
      ->check(CLI::Range(1, 65535));
  serve_cmd->add_option("--data-dir", common.data_dir, "Data directory");
  serve_cmd->add_flag("--no-seed", serve.no_seed,
                      "Do not seed demo data into an empty database (SQLite, development only)");
  serve_cmd->add_flag("--no-migrate", serve.no_migrate,
                      "Do not run migrations; refuse to start if any is pending");

  auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending database migrations");
  migrate_cmd->add_option("--data-dir", common.data_dir, "Data directory");

  bool demo = false;
  auto* seed_cmd =
      cli.add_subcommand("seed", "Create the admin account (and demo data with --demo)");
  seed_cmd->add_flag("--demo", demo,
                     "Also insert the demo airports, flights and 30 days of schedules");
  seed_cmd->add_option("--data-dir", common.data_dir, "Data directory");

  auto* user_cmd = cli.add_subcommand("user", "User administration");
  user_cmd->require_subcommand(1);
  std::string admin_email = "admin@cloudjet.com";
  std::string admin_name = "관리자";
  auto* create_admin = user_cmd->add_subcommand(
      "create-admin",
      "Create or reset an admin account (password from CLOUDJET_NEW_ADMIN_PASSWORD or stdin)");
  create_admin->add_option("--email", admin_email, "Admin email");
  create_admin->add_option("--name", admin_name, "Admin display name");
  create_admin->add_option("--data-dir", common.data_dir, "Data directory");

  cli.add_subcommand("version", "Print the version");

  CLI11_PARSE(cli, argc, argv);

  if (serve_cmd->parsed()) return run_serve(common, serve);
  if (migrate_cmd->parsed()) return run_migrate(common);
  if (seed_cmd->parsed()) return run_seed(common, demo);
  if (create_admin->parsed()) return run_create_admin(common, admin_email, admin_name);
  std::printf("cloudjet %s\n", CLOUDJET_VERSION);
  return 0;
}
