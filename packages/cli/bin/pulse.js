#!/usr/bin/env node
// The `pulse` command: the built JavaScript in dist/ (`npm run build`), plain Node.
import '../dist/bin.js'
