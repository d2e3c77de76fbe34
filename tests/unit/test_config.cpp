#include <gtest/gtest.h>

#include "core/config.hpp"

namespace {

cj::Result<cj::Config> load(std::map<std::string, std::string> env,
                            std::map<std::string, std::string> dotenv = {},
                            std::map<std::string, std::string> flags = {}) {
  cj::ConfigSources s;
  s.env = std::move(env);
  s.dotenv = std::move(dotenv);
  s.flags = std::move(flags);
  return cj::load_config(s);
}

TEST(Config, DefaultsToEmbeddedSqliteInTheDataDir) {
  auto c = load({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->db.kind, cj::DbKind::Sqlite);
  EXPECT_EQ(c->db.sqlite_path, "./data/cloudjet.db");
  EXPECT_EQ(c->ports.auth, 5001);
  EXPECT_EQ(c->ports.payment, 5005);
  EXPECT_EQ(c->services.size(), 5U);
  EXPECT_FALSE(c->redis.enabled());
  EXPECT_EQ(c->search_cache_ttl_seconds, 300);
}

TEST(Config, SeedVariablesSelectMysql) {
  auto c = load({{"DB_HOST", "db.local"},
                 {"DB_PORT", "3307"},
                 {"DB_USER", "cloudjet_user"},
                 {"DB_PASSWORD", "pw"},
                 {"DB_NAME", "cloudjet_airline"},
                 {"DB_POOL_SIZE", "16"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->db.kind, cj::DbKind::Mysql);
  EXPECT_EQ(c->db.host, "db.local");
  EXPECT_EQ(c->db.port, 3307);
  EXPECT_EQ(c->db.user, "cloudjet_user");
  EXPECT_EQ(c->db.pool_size, 16);
}

TEST(Config, DatabaseUrlIsParsedWithPercentDecoding) {
  auto c = load({{"DATABASE_URL", "mysql://app:p%40ss%3Aw@10.0.0.5:3306/air"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->db.user, "app");
  EXPECT_EQ(c->db.password, "p@ss:w");
  EXPECT_EQ(c->db.host, "10.0.0.5");
  EXPECT_EQ(c->db.name, "air");
  auto s = load({{"DATABASE_URL", "sqlite:///var/lib/cj.db"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->db.sqlite_path, "/var/lib/cj.db");
}

TEST(Config, BadValuesNameTheVariable) {
  auto c = load({{"AUTH_SERVICE_PORT", "70000"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message_en.find("AUTH_SERVICE_PORT"), std::string::npos);
  auto d = load({{"DB_POOL_SIZE", "many"}});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message_en.find("DB_POOL_SIZE"), std::string::npos);
  auto u = load({{"DATABASE_URL", "postgres://x/y"}});
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.error().message_en.find("DATABASE_URL"), std::string::npos);
  auto s = load({{"SERVICES", "auth,hotel"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message_en.find("hotel"), std::string::npos);
}

TEST(Config, MigrationLockTimeoutDefaultsToFiveMinutesAndIsValidated) {
  auto c = load({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->db.migration_lock_timeout_seconds, 300);
  auto set = load({{"MIGRATION_LOCK_TIMEOUT", "20"}});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->db.migration_lock_timeout_seconds, 20);
  for (const char* bad : {"-1", "soon", "86401"}) {
    auto b = load({{"MIGRATION_LOCK_TIMEOUT", bad}});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message_en.find("MIGRATION_LOCK_TIMEOUT"), std::string::npos) << bad;
  }
}

TEST(Config, ProductionRequiresSecretKey) {
  auto c = load({{"CLOUDJET_ENV", "production"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message_en.find("SECRET_KEY"), std::string::npos);
  auto ok = load({{"CLOUDJET_ENV", "production"}, {"SECRET_KEY", "0123456789abcdef0123"}});
  EXPECT_TRUE(ok.ok());
}

TEST(Config, ShortSecretsAndAdminPasswordsAreRefused) {
  EXPECT_FALSE(load({{"SECRET_KEY", "short"}}).ok());
  EXPECT_FALSE(load({{"CLOUDJET_ADMIN_PASSWORD", "1234"}}).ok());
}

TEST(Config, FlagsOverrideEnvironmentWhichOverridesDotenv) {
  auto c = load({{"AUTH_SERVICE_PORT", "6001"}},
                {{"AUTH_SERVICE_PORT", "7001"}, {"FLIGHT_SERVICE_PORT", "7002"}},
                {{"SINGLE_PORT", "8080"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ports.auth, 6001);
  EXPECT_EQ(c->ports.flight, 7002);
  EXPECT_EQ(*c->single_port, 8080);
}

TEST(Config, MetricsPortIsOptionalAndDiffersFromTheServicePorts) {
  auto none = load({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->metrics_port.has_value());
  auto c = load({{"METRICS_PORT", "9100"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->metrics_port, 9100);
  EXPECT_FALSE(load({{"METRICS_PORT", "0"}}).ok());
  EXPECT_FALSE(load({{"METRICS_PORT", "5003"}}).ok());
  EXPECT_FALSE(load({{"METRICS_PORT", "8080"}, {"SINGLE_PORT", "8080"}}).ok());
  // With one port for everything the service ports are not listened on.
  EXPECT_TRUE(load({{"METRICS_PORT", "5003"}, {"SINGLE_PORT", "8080"}}).ok());
  // Only the selected services' ports are taken.
  EXPECT_TRUE(load({{"METRICS_PORT", "5003"}, {"SERVICES", "auth"}}).ok());
}

TEST(Config, DotenvParsesCommentsQuotesAndExport) {
  auto m = cj::parse_dotenv("# comment\nexport A=1\nB = \"two words\"\nC='x'\n\nnot a pair\n");
  EXPECT_EQ(m.at("A"), "1");
  EXPECT_EQ(m.at("B"), "two words");
  EXPECT_EQ(m.at("C"), "x");
  EXPECT_EQ(m.size(), 3U);
}

}  // namespace

namespace {

TEST(Config, TransportAndLoadDefaults) {
  auto c = load({});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->max_connections_per_client, 256);
  EXPECT_EQ(c->max_header_bytes, 16U * 1024);
  EXPECT_TRUE(c->trusted_proxies.empty());
  EXPECT_EQ(c->cache_max_bytes, 64U * 1024 * 1024);
  EXPECT_EQ(c->pools.max_queue, 256U);
  EXPECT_EQ(c->db.lock_wait_timeout_seconds, 3);
}

TEST(Config, TrustedProxiesAreParsedAndBadEntriesNamed) {
  auto c = load({{"TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32,192.0.2.1"}});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->trusted_proxies.size(), 3U);
  EXPECT_EQ(c->trusted_proxies[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(c->trusted_proxies[2].prefix, 32);
  auto bad = load({{"TRUSTED_PROXIES", "10.0.0.0/8,lb.internal"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message_en.find("TRUSTED_PROXIES"), std::string::npos);
  EXPECT_NE(bad.error().message_en.find("lb.internal"), std::string::npos);
}

TEST(Config, PoolLimitsAreValidated) {
  auto c = load({{"WORK_QUEUE_MAX", "10"},
                 {"WORK_QUEUE_MAX_WAIT_MS", "200"},
                 {"WORK_QUEUE_TIMEOUT_MS", "3000"},
                 {"CPU_THREADS", "3"},
                 {"CACHE_MAX_BYTES", "1048576"},
                 {"MAX_CONNECTIONS_PER_CLIENT", "8"},
                 {"SIGNUP_MAX_PER_CLIENT", "3"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->pools.max_queue, 10U);
  EXPECT_EQ(c->pools.cpu_threads, 3);
  EXPECT_EQ(c->cache_max_bytes, 1048576U);
  EXPECT_EQ(c->max_connections_per_client, 8);
  EXPECT_EQ(c->signup.max_per_client, 3);
  auto bad = load({{"WORK_QUEUE_MAX_WAIT_MS", "5000"}, {"WORK_QUEUE_TIMEOUT_MS", "1000"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message_en.find("WORK_QUEUE_TIMEOUT_MS"), std::string::npos);
  EXPECT_FALSE(load({{"DB_LOCK_WAIT_TIMEOUT", "30"}}).ok());  // must stay below the read timeout
  EXPECT_FALSE(load({{"MAX_HEADER_KIB", "0"}}).ok());
}

}  // namespace

// ---- time (issue 12) ----
namespace {

TEST(ConfigTime, DefaultsAreARealClockAndAnHourCutOff) {
  auto c = load({});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->fake_now_unix.has_value());
  EXPECT_EQ(c->sales_cutoff_minutes, 60);
  EXPECT_EQ(c->booking_complete_interval_seconds, 60);
}

TEST(ConfigTime, FakeNowIsAnInstantWithAnOffset) {
  auto kst = load({{"CLOUDJET_FAKE_NOW", "2026-12-02T00:30:00+09:00"}});
  ASSERT_TRUE(kst.ok());
  ASSERT_TRUE(kst->fake_now_unix.has_value());
  auto utc = load({{"CLOUDJET_FAKE_NOW", "2026-12-01T15:30:00Z"}});
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(*kst->fake_now_unix, *utc->fake_now_unix);
  EXPECT_EQ(*utc->fake_now_unix, 1796139000);
  auto empty = load({{"CLOUDJET_FAKE_NOW", ""}});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->fake_now_unix.has_value());
  for (const char* bad : {"2026-12-02T00:30:00", "tomorrow", "2026-12-32T00:00:00Z"}) {
    auto b = load({{"CLOUDJET_FAKE_NOW", bad}});
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.error().message_en.find("CLOUDJET_FAKE_NOW"), std::string::npos) << bad;
  }
}

TEST(ConfigTime, FakeNowIsRefusedInProduction) {
  auto c = load({{"CLOUDJET_ENV", "production"},
                 {"SECRET_KEY", "0123456789abcdef0123"},
                 {"CLOUDJET_FAKE_NOW", "2026-12-02T00:30:00+09:00"}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message_en.find("CLOUDJET_FAKE_NOW"), std::string::npos);
  EXPECT_NE(c.error().message_en.find("production"), std::string::npos);
  auto test_env = load({{"CLOUDJET_ENV", "test"}, {"CLOUDJET_FAKE_NOW", "2026-12-01T15:30:00Z"}});
  EXPECT_TRUE(test_env.ok());
}

TEST(ConfigTime, CutOffAndCompletionIntervalAreValidated) {
  auto c = load({{"SALES_CUTOFF_MINUTES", "90"}, {"BOOKING_COMPLETE_INTERVAL_SECONDS", "0"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sales_cutoff_minutes, 90);
  EXPECT_EQ(c->booking_complete_interval_seconds, 0);
  EXPECT_EQ(load({{"SALES_CUTOFF_MINUTES", "0"}})->sales_cutoff_minutes, 0);
  for (const auto& [name, bad] :
       {std::pair{"SALES_CUTOFF_MINUTES", "-5"}, std::pair{"SALES_CUTOFF_MINUTES", "an hour"},
        std::pair{"SALES_CUTOFF_MINUTES", "10081"},
        std::pair{"BOOKING_COMPLETE_INTERVAL_SECONDS", "-1"},
        std::pair{"BOOKING_COMPLETE_INTERVAL_SECONDS", "86401"}}) {
    auto b = load({{name, bad}});
    ASSERT_FALSE(b.ok()) << name << "=" << bad;
    EXPECT_NE(b.error().message_en.find(name), std::string::npos) << name << "=" << bad;
  }
}

}  // namespace
