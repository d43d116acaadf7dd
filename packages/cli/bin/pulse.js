#!/usr/bin/env node
// The `pulse` command. Pulse ships TypeScript sources; tsx compiles them on the fly.
import { register } from 'tsx/esm/api'

register()
await import('../src/bin.ts')
