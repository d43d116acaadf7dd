/** Entry point of the `pulse` command. */
import { buildProgram } from './commands.ts'

await buildProgram().parseAsync(process.argv)
