#include "warehouse/loader.h"

#include <libpq-fe.h>

#include "secrets/resolver.h"
#include "warehouse/pg_loader.h"
#include "warehouse/sqlite_loader.h"

namespace sluice::warehouse {
namespace {

// Adds the password a libpq DSN carries (key=value or URI) to the redactor, so that a server or
// libpq message echoing it is masked even when it was not a ${secret:...} reference.
void LearnDsnPassword(const std::string& dsn, secrets::Redactor* redactor) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (options == nullptr) return;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr) redactor->Add(o->val);
  }
  PQconninfoFree(options);
}

// Owns what OpenLoader created for the loader's lifetime when the caller gave no resolver.
class OwningLoader : public Loader {
 public:
  OwningLoader(std::unique_ptr<secrets::Redactor> redactor,
               std::unique_ptr<secrets::Resolver> resolver)
      : redactor_(std::move(redactor)), resolver_(std::move(resolver)) {}
  void set_inner(std::unique_ptr<Loader> inner) { inner_ = std::move(inner); }
  Result<LoadResult> Load(const LoadBatch& batch) override { return inner_->Load(batch); }

 private:
  // Declared first: destroyed after inner_, which points into them.
  std::unique_ptr<secrets::Redactor> redactor_;
  std::unique_ptr<secrets::Resolver> resolver_;
  std::unique_ptr<Loader> inner_;
};

}  // namespace

bool IsRetryable(const Status& status) {
  return status.code() == StatusCode::kUnavailable;
}

Result<std::unique_ptr<Loader>> OpenLoader(const WarehouseConfig& config, LoaderOptions options) {
  SLUICE_RETURN_IF_ERROR(Validate(config));
  std::unique_ptr<secrets::Redactor> own_redactor;
  std::unique_ptr<secrets::Resolver> own_resolver;
  if (options.resolver == nullptr) {
    own_redactor = std::make_unique<secrets::Redactor>();
    own_resolver = std::make_unique<secrets::Resolver>(own_redactor.get(), &Clock::System());
    options.resolver = own_resolver.get();
  }
  secrets::Resolver* resolver = options.resolver;
  WarehouseConfig resolved = config;
  SLUICE_ASSIGN_OR_RETURN(resolved.dsn, resolver->Resolve(config.dsn));
  SLUICE_ASSIGN_OR_RETURN(resolved.redshift.secret_access_key,
                          resolver->Resolve(config.redshift.secret_access_key));
  resolver->redactor().Add(resolved.redshift.secret_access_key);
  SLUICE_ASSIGN_OR_RETURN(resolved.redshift.session_token,
                          resolver->Resolve(config.redshift.session_token));
  resolver->redactor().Add(resolved.redshift.session_token);
  SLUICE_ASSIGN_OR_RETURN(resolved.redshift.access_key_id,
                          resolver->Resolve(config.redshift.access_key_id));

  Result<std::unique_ptr<Loader>> inner = Status::Internal("unreachable");
  if (config.engine == Engine::kSqlite) {
    inner = OpenSqliteLoader(resolved, std::move(options), &resolver->redactor());
  } else {
    LearnDsnPassword(resolved.dsn, &resolver->redactor());
    inner = OpenPgLoader(resolved, std::move(options), &resolver->redactor());
  }
  if (!inner.ok() || own_resolver == nullptr) return inner;
  auto owning = std::make_unique<OwningLoader>(std::move(own_redactor), std::move(own_resolver));
  owning->set_inner(std::move(inner).value());
  return std::unique_ptr<Loader>(std::move(owning));
}

}  // namespace sluice::warehouse
