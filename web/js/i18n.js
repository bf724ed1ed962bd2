// Owns the UI language: string dictionaries for kk/ru/en, the remembered choice, the language
// switch, picking a language out of {kk, ru, en} data, and formatting times in Almaty.

const STORAGE_KEY = 'kezdesu.lang';
const LANGUAGES = ['kk', 'ru', 'en'];
const DEFAULT_LANGUAGE = 'ru';
const LANGUAGE_NAMES = { kk: 'Қазақша', ru: 'Русский', en: 'English' };
const LOCALES = { kk: 'kk-KZ', ru: 'ru-RU', en: 'en-GB' };
// Data from the API is filled in Russian first most often, so that is the first fallback.
const FALLBACK_ORDER = ['ru', 'kk', 'en'];
// The server names the zone of every meeting (its `time_zone`); this is only the fallback.
const DEFAULT_TIME_ZONE = 'Asia/Almaty';

const STRINGS = {
  kk: {
    'app.tagline': 'Әкімдердің халықпен кездесулері',
    'lang.label': 'Тіл',
    'nav.signin': 'Кіру',
    'nav.allMeetings': '← Барлық кездесулер',
    'home.pageTitle': 'Kezdesu — әкімдердің кездесулері',
    'home.live': 'Қазір өтуде',
    'home.upcoming': 'Алдағы',
    'home.past': 'Өткен',
    'home.empty': 'Әзірге кездесулер жоқ.',
    'common.loading': 'Жүктелуде…',
    'common.loadFailed': 'Деректерді жүктеу мүмкін болмады. Бетті жаңартып көріңіз.',
    'error.generic': 'Бірдеңе дұрыс болмады. Қайталап көріңіз.',
    'error.network': 'Серверге қосылу мүмкін болмады.',
    'meeting.minutes': '{n} мин',
    'meeting.plannedStart': 'Жоспарланған басталуы',
    'meeting.plannedLength': 'Жоспарланған ұзақтығы',
    'meeting.kind': 'Түрі',
    'meeting.status': 'Мәртебесі',
    'meeting.phase': 'Ағымдағы кезең',
    'meeting.notFound': 'Кездесу табылмады.',
    'time.almaty': 'Алматы уақыты',
    'status.scheduled': 'Жоспарланған',
    'status.live': 'Өтуде',
    'status.ended': 'Аяқталды',
    'status.cancelled': 'Болдырылмады',
    'phase.scheduled': 'Басталмаған',
    'phase.presentation': 'Баяндама',
    'phase.qa': 'Сұрақ-жауап',
    'phase.ended': 'Аяқталды',
    'kind.calendar': 'Жоспарлы',
    'kind.unscheduled': 'Жоспардан тыс',
    'timer.notStarted': 'Кездесу әлі басталған жоқ.',
    'timer.remaining': 'Баяндамаға қалған уақыт',
    'timer.overtime': 'Баяндама уақыты бітті',
    'timer.budgetUsed': 'Баяндама лимитінің жұмсалғаны',
    'timer.qaElapsed': 'Сұрақ-жауап жүріп жатыр',
    'compliance.title': 'Уақыт есебі',
    'compliance.presentation': 'Баяндама',
    'compliance.qa': 'Сұрақ-жауап',
    'compliance.budget': 'Баяндама лимиті',
    'compliance.split': 'Уақыт бөлінісі',
    'compliance.kept': 'Сақталды',
    'compliance.broken': 'Бұзылды',
    'compliance.missing': 'Уақыт есебі жоқ.',
    'connection.connecting': 'Қосылуда…',
    'connection.live': 'Тікелей жаңартулар',
    'connection.reconnecting': 'Байланыс үзілді, қайта қосылуда…',
    'control.title': 'Кездесуді басқару',
    'control.startPresentation': 'Баяндаманы бастау',
    'control.switchToQa': 'Сұрақ-жауапқа өту',
    'control.end': 'Кездесуді аяқтау',
    'control.confirmEnd': 'Кездесуді қазір аяқтау керек пе? Мұны қайтару мүмкін емес.',
    'signin.pageTitle': 'Kezdesu — кіру',
    'signin.title': 'Кіру',
    'signin.login': 'Логин',
    'signin.password': 'Құпиясөз',
    'signin.submit': 'Кіру',
    'signin.signedInAs': 'Сіз {name} ретінде кірдіңіз.',
    'signin.signOut': 'Шығу',
    'signin.signedOut': 'Сіз жүйеден шықтыңыз.',
  },
  ru: {
    'app.tagline': 'Встречи акимов с населением',
    'lang.label': 'Язык',
    'nav.signin': 'Войти',
    'nav.allMeetings': '← Все встречи',
    'home.pageTitle': 'Kezdesu — встречи акимов',
    'home.live': 'Идут сейчас',
    'home.upcoming': 'Предстоящие',
    'home.past': 'Прошедшие',
    'home.empty': 'Встреч пока нет.',
    'common.loading': 'Загрузка…',
    'common.loadFailed': 'Не удалось загрузить данные. Попробуйте обновить страницу.',
    'error.generic': 'Что-то пошло не так. Попробуйте ещё раз.',
    'error.network': 'Не удалось связаться с сервером.',
    'meeting.minutes': '{n} мин',
    'meeting.plannedStart': 'Плановое начало',
    'meeting.plannedLength': 'Плановая длительность',
    'meeting.kind': 'Тип',
    'meeting.status': 'Статус',
    'meeting.phase': 'Текущая фаза',
    'meeting.notFound': 'Встреча не найдена.',
    'time.almaty': 'время Алматы',
    'status.scheduled': 'Запланирована',
    'status.live': 'Идёт',
    'status.ended': 'Завершена',
    'status.cancelled': 'Отменена',
    'phase.scheduled': 'Не начата',
    'phase.presentation': 'Доклад',
    'phase.qa': 'Вопросы и ответы',
    'phase.ended': 'Завершена',
    'kind.calendar': 'Плановая',
    'kind.unscheduled': 'Внеплановая',
    'timer.notStarted': 'Встреча ещё не началась.',
    'timer.remaining': 'Осталось времени на доклад',
    'timer.overtime': 'Время доклада истекло',
    'timer.budgetUsed': 'Израсходовано времени доклада',
    'timer.qaElapsed': 'Вопросы и ответы идут',
    'compliance.title': 'Учёт времени',
    'compliance.presentation': 'Доклад',
    'compliance.qa': 'Вопросы и ответы',
    'compliance.budget': 'Лимит доклада',
    'compliance.split': 'Распределение времени',
    'compliance.kept': 'Соблюдено',
    'compliance.broken': 'Нарушено',
    'compliance.missing': 'Учёт времени отсутствует.',
    'connection.connecting': 'Подключение…',
    'connection.live': 'Обновления в реальном времени',
    'connection.reconnecting': 'Связь потеряна, переподключение…',
    'control.title': 'Управление встречей',
    'control.startPresentation': 'Начать доклад',
    'control.switchToQa': 'Перейти к вопросам',
    'control.end': 'Завершить встречу',
    'control.confirmEnd': 'Завершить встречу сейчас? Это действие нельзя отменить.',
    'signin.pageTitle': 'Kezdesu — вход',
    'signin.title': 'Вход',
    'signin.login': 'Логин',
    'signin.password': 'Пароль',
    'signin.submit': 'Войти',
    'signin.signedInAs': 'Вы вошли как {name}.',
    'signin.signOut': 'Выйти',
    'signin.signedOut': 'Вы вышли из системы.',
  },
  en: {
    'app.tagline': "Akims' public meetings with the population",
    'lang.label': 'Language',
    'nav.signin': 'Sign in',
    'nav.allMeetings': '← All meetings',
    'home.pageTitle': "Kezdesu — akims' meetings",
    'home.live': 'Live now',
    'home.upcoming': 'Upcoming',
    'home.past': 'Past',
    'home.empty': 'No meetings yet.',
    'common.loading': 'Loading…',
    'common.loadFailed': 'Could not load the data. Try reloading the page.',
    'error.generic': 'Something went wrong. Please try again.',
    'error.network': 'Could not reach the server.',
    'meeting.minutes': '{n} min',
    'meeting.plannedStart': 'Planned start',
    'meeting.plannedLength': 'Planned length',
    'meeting.kind': 'Kind',
    'meeting.status': 'Status',
    'meeting.phase': 'Current phase',
    'meeting.notFound': 'Meeting not found.',
    'time.almaty': 'Almaty time',
    'status.scheduled': 'Scheduled',
    'status.live': 'Live',
    'status.ended': 'Ended',
    'status.cancelled': 'Cancelled',
    'phase.scheduled': 'Not started',
    'phase.presentation': 'Presentation',
    'phase.qa': 'Questions and answers',
    'phase.ended': 'Ended',
    'kind.calendar': 'Calendar',
    'kind.unscheduled': 'Unscheduled',
    'timer.notStarted': 'The meeting has not started yet.',
    'timer.remaining': 'Presentation time left',
    'timer.overtime': 'Presentation time is over',
    'timer.budgetUsed': 'Presentation budget used',
    'timer.qaElapsed': 'Q&A running for',
    'compliance.title': 'Time record',
    'compliance.presentation': 'Presentation',
    'compliance.qa': 'Questions and answers',
    'compliance.budget': 'Presentation budget',
    'compliance.split': 'Time split',
    'compliance.kept': 'Kept',
    'compliance.broken': 'Not kept',
    'compliance.missing': 'No time record.',
    'connection.connecting': 'Connecting…',
    'connection.live': 'Live updates',
    'connection.reconnecting': 'Connection lost, reconnecting…',
    'control.title': 'Meeting control',
    'control.startPresentation': 'Start presentation',
    'control.switchToQa': 'Switch to Q&A',
    'control.end': 'End meeting',
    'control.confirmEnd': 'End this meeting now? This cannot be undone.',
    'signin.pageTitle': 'Kezdesu — sign in',
    'signin.title': 'Sign in',
    'signin.login': 'Login',
    'signin.password': 'Password',
    'signin.submit': 'Sign in',
    'signin.signedInAs': 'Signed in as {name}.',
    'signin.signOut': 'Sign out',
    'signin.signedOut': 'You have signed out.',
  },
};

let currentLanguage = readStoredLanguage();

function readStoredLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE; // storage can be blocked in private modes
  }
}

function setLanguage(language) {
  currentLanguage = LANGUAGES.includes(language) ? language : DEFAULT_LANGUAGE;
  try {
    localStorage.setItem(STORAGE_KEY, currentLanguage);
  } catch {
    // Not remembered, but the page still switches.
  }
}

/** The UI string for `key` in the chosen language; `{name}` placeholders come from `params`. */
export function t(key, params = {}) {
  const template = STRINGS[currentLanguage][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The chosen language's text of a {kk, ru, en} object, falling back to ru, kk, en. */
export function pickLocalized(texts) {
  if (!texts) return '';
  for (const language of [currentLanguage, ...FALLBACK_ORDER]) {
    const text = texts[language];
    if (typeof text === 'string' && text.trim() !== '') return text;
  }
  return '';
}

/**
 * A date and time shown in the meeting's time zone (Almaty unless the server says otherwise),
 * whatever the reader's device time zone is.
 */
export function formatMeetingDateTime(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  const zone = timeZone || DEFAULT_TIME_ZONE;
  const formatter = new Intl.DateTimeFormat(LOCALES[currentLanguage], {
    timeZone: zone,
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const zoneLabel = zone === DEFAULT_TIME_ZONE ? t('time.almaty') : zone;
  return `${formatter.format(date)} (${zoneLabel})`;
}

/** Fills every element marked data-i18n with its string and sets <html lang>. */
function applyStaticText() {
  document.documentElement.lang = currentLanguage;
  for (const element of document.querySelectorAll('[data-i18n]')) {
    element.textContent = t(element.dataset.i18n);
  }
}

/** Wires the page's #language-switch select; `onLanguageChange` re-renders the dynamic parts. */
export function setUpLanguageSwitch(onLanguageChange = () => {}) {
  const select = document.getElementById('language-switch');
  for (const language of LANGUAGES) {
    const option = document.createElement('option');
    option.value = language;
    option.lang = language;
    option.textContent = LANGUAGE_NAMES[language];
    select.append(option);
  }
  select.value = currentLanguage;
  select.addEventListener('change', () => {
    setLanguage(select.value);
    applyStaticText();
    onLanguageChange();
  });
  applyStaticText();
}
