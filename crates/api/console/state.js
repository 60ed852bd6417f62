// Who is signed in, over which organisation, and what they may do.

const ORG_KEY = 'timebank.org';
const STAFF_ROLES = ['org_admin', 'auditor', 'site_operator'];
const KIND_RANK = { city: 0, district: 1, street: 2, community: 3 };

export const state = {
  me: null,
  /** [{org_id, org_name, role ('org_admin'|'auditor'), kind}] distinct orgs, widest first */
  orgScopes: [],
  /** [{site_id, site_name, org_id}] */
  siteScopes: [],
  /** the org currently worked on */
  org: null,
  /** one-off message for the sign-in page: 'expired' | 'not_staff' | null */
  flash: null,
};

export function isStaff(me) {
  return !!(me && Array.isArray(me.scopes) && me.scopes.some((s) => STAFF_ROLES.includes(s.role)));
}

/**
 * Sets up the scopes from GET /me. orgInfo(id) → Promise<{name, kind}|null> fills
 * names and kinds the scopes lack.
 */
export async function setMe(me, orgInfo, siteInfo) {
  state.me = me;
  const byOrg = new Map();
  for (const sc of me.scopes || []) {
    if ((sc.role === 'org_admin' || sc.role === 'auditor') && sc.org_id) {
      const prev = byOrg.get(sc.org_id);
      // org_admin wins over auditor on the same org
      if (!prev || (prev.role === 'auditor' && sc.role === 'org_admin')) {
        byOrg.set(sc.org_id, { org_id: sc.org_id, org_name: sc.org_name || (prev && prev.org_name) || null, role: sc.role, kind: null });
      }
    }
  }
  const orgs = [...byOrg.values()];
  await Promise.all(orgs.map(async (o) => {
    const info = await orgInfo(o.org_id).catch(() => null);
    if (info) {
      o.kind = info.kind || null;
      if (!o.org_name) o.org_name = info.name || null;
    }
  }));
  // widest first; otherwise keep the order of the grants
  orgs.sort((a, b) => (KIND_RANK[a.kind] ?? 9) - (KIND_RANK[b.kind] ?? 9));
  state.orgScopes = orgs;

  const sites = new Map();
  for (const sc of me.scopes || []) {
    if (sc.role === 'site_operator' && sc.site_id && !sites.has(sc.site_id)) {
      sites.set(sc.site_id, { site_id: sc.site_id, site_name: sc.site_name || null, org_id: sc.org_id || null });
    }
  }
  const siteList = [...sites.values()];
  await Promise.all(siteList.map(async (st) => {
    if (st.site_name) return;
    const info = await siteInfo(st.site_id).catch(() => null);
    if (info) { st.site_name = info.name; st.org_id = st.org_id || info.org_id; }
  }));
  state.siteScopes = siteList;
  // Batch runs count the whole ledger: platform staff only (a grant over
  // the root org, which has no parent).
  state.platform = (me.scopes || []).some(
    (sc) => (sc.role === 'org_admin' || sc.role === 'auditor') && sc.org_id && sc.org_parent_id === null);

  let saved = null;
  try { saved = localStorage.getItem(ORG_KEY); } catch { /* none */ }
  state.org = orgs.find((o) => o.org_id === saved) || orgs[0] || null;
}

export function chooseOrg(orgId) {
  const o = state.orgScopes.find((x) => x.org_id === orgId);
  if (!o) return;
  state.org = o;
  try { localStorage.setItem(ORG_KEY, orgId); } catch { /* none */ }
}

export function resetState() {
  state.platform = false;
  state.me = null;
  state.orgScopes = [];
  state.siteScopes = [];
  state.org = null;
}

/** Only site_operator grants: the Sites page for their site(s), nothing else. */
export function isOperatorOnly() {
  return !!state.me && state.orgScopes.length === 0 && state.siteScopes.length > 0;
}

/** May act (approve, settle, publish…) over the current org: org_admin there. */
export function canAct() {
  return !!state.org && state.org.role === 'org_admin';
}

export function isAuditor() {
  return !!state.org && state.org.role === 'auditor';
}

export function orgId() {
  return state.org ? state.org.org_id : null;
}

export function isOperatorOf(siteId) {
  return state.siteScopes.some((s) => s.site_id === siteId);
}

/** Fulfil and restock at a site: its operator, or an org admin. */
export function canOperateSite(siteId) {
  return isOperatorOf(siteId) || canAct();
}

/** The role shown in the top bar. */
export function currentRole() {
  if (state.org) return state.org.role;
  if (state.siteScopes.length) return 'site_operator';
  return null;
}
