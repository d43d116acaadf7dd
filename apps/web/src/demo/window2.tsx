/** `/demo/window2`: edits the last name, shows the first name read-only. */
import { mountDemoPage } from './demo-page.tsx'

mountDemoPage({ page: 'window2', title: 'Window 2', editable: 'lastName', otherPage: '/demo/window1' })
