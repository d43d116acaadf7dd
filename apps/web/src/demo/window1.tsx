/** `/demo/window1`: edits the first name, shows the last name read-only. */
import { mountDemoPage } from './demo-page.tsx'

mountDemoPage({ page: 'window1', title: 'Window 1', editable: 'firstName', otherPage: '/demo/window2' })
