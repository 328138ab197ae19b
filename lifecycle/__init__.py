"""Lifecycle: retention and tier policy, the sweep (plan, apply), audit, admin bulk operations.

Public surface: `lifecycle.sweep.plan_sweep` / `run_sweep` (the timer and `ascend retention`),
`lifecycle.plan.plan_job` (pure), `lifecycle.policy` (`RetentionPolicy`, `DEFAULT_POLICY`,
`policy_from_json`), `lifecycle.overrides` (per-project policies), `lifecycle.native.
native_policy_document` (infra), `lifecycle.audit` (`AuditLog`, `read_audit`) and
`lifecycle.admin` (bulk delete and export).
"""
