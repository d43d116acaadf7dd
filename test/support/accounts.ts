/** Signing people in against a real server, for tests: register, log in, make organizations. */
import { httpClient } from './server.ts'

/** A signed-in user: their token, device and an HTTP client that sends the token. */
export interface SignedIn {
  userId: string
  username: string
  deviceId: string
  access: string
  refresh: string
  api: ReturnType<typeof httpClient>
}

const PASSWORD = 'correct horse battery staple'

/** Registers (if needed) and logs in a user; returns a client that authenticates as them. */
export async function signIn(base: string, username: string, deviceName = 'test device'): Promise<SignedIn> {
  const anonymous = httpClient(base)
  const reg = await anonymous.post('/api/auth/register', { username, password: PASSWORD })
  if (reg.status !== 201 && reg.status !== 409) throw new Error(`register ${username}: ${reg.status} ${reg.text}`)
  const login = await anonymous.post('/api/auth/login', { username, password: PASSWORD, deviceName })
  if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${login.text}`)
  const { access, refresh, user, device } = login.json
  return { userId: user.id, username, deviceId: device.id, access, refresh, api: httpClient(base, { authorization: `Bearer ${access}` }) }
}

/** `member` joins `orgId`: invited by `by` (an owner or admin), then accepting (§9). */
export async function join(by: SignedIn, member: SignedIn, orgId: string, role: 'member' | 'admin' | 'owner' = 'member'): Promise<void> {
  const invited = await by.api.post(`/api/orgs/${orgId}/invitations`, { username: member.username, role })
  if (invited.status !== 201) throw new Error(`invite ${member.username}: ${invited.status} ${invited.text}`)
  const accepted = await member.api.post(`/api/invitations/${invited.json.id}/accept`)
  if (accepted.status !== 200) throw new Error(`accept: ${accepted.status} ${accepted.text}`)
}

/** Creates an organization owned by `owner` with `members` invited and joined; returns its id. */
export async function makeOrg(owner: SignedIn, name: string, members: SignedIn[] = []): Promise<string> {
  const org = await owner.api.post('/api/orgs', { name })
  if (org.status !== 201) throw new Error(`create org: ${org.status} ${org.text}`)
  for (const m of members) await join(owner, m, org.json.id)
  return org.json.id
}
