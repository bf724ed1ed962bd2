// The header link to the administration page, shown to admins on the home and admin pages.
export default {
  kk: { 'nav.admin': 'Әкімшілік' },
  ru: { 'nav.admin': 'Администрирование' },
  en: { 'nav.admin': 'Administration' },
};
