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
    'live.title': 'Талқылау',
    'live.connection.connecting': 'Талқылауға қосылуда…',
    'live.connection.live': 'Талқылау тікелей жаңартылады',
    'live.connection.reconnecting': 'Байланыс үзілді, қайта қосылуда…',
    'live.connection.closed': 'Талқылаудан ажыратылды',
    'live.viewers': 'Қазір қосылғандар: {n}',
    'live.closed': 'Талқылау жабық.',
    'live.joinedAs': 'Сіз «{name}» атымен қатысып отырсыз.',
    'live.leave': 'Талқылаудан шығу',
    'live.join.intro': 'Пікірлерді оқу, сұрақ қою және сұрақтарды қолдау үшін талқылауға қосылыңыз.',
    'live.join.name': 'Сіздің атыңыз',
    'live.join.hint': 'Ат пікірлеріңіздің жанында көрсетіледі (60 таңбаға дейін).',
    'live.join.submit': 'Талқылауға қосылу',
    'live.join.joining': 'Қосылуда…',
    'live.join.nameRequired': 'Атыңызды жазыңыз.',
    'live.join.invalidName': 'Бұл атты пайдалану мүмкін емес. Басқа ат жазыңыз.',
    'live.join.over': 'Кездесу аяқталды немесе болдырылмады, талқылау жабық.',
    'live.join.rateLimited': 'Әрекет тым көп. Сәлден кейін қайталаңыз.',
    'live.join.expired': 'Сессияңыздың мерзімі бітті. Талқылауға қайта қосылыңыз.',
    'live.questions.title': 'Сұрақтар',
    'live.questions.onAir': 'Қазір жауап беріліп жатыр',
    'live.questions.empty': 'Әзірге сұрақтар жоқ. Модераторлар сұрақтарды пікірлерден құрастырады.',
    'live.questions.number': '№{n}',
    'live.questions.untitled': '№{n} сұрақ',
    'live.questions.queueEmpty': 'Кезекте сұрақ жоқ.',
    'live.questions.pinned': 'Бекітілген',
    'live.questions.votes': 'Дауыс саны: {n}',
    'live.questions.vote': 'Қолдау',
    'live.questions.closed': 'Жауап берілген және жабылған сұрақтар ({n})',
    'live.questions.answered': 'Жауап: {text}',
    'live.questions.answeredPlain': 'Жауап берілді',
    'live.questions.dismissed': 'Қаралмады: {text}',
    'live.questions.dismissedPlain': 'Қаралмады',
    'live.comments.title': 'Пікірлер',
    'live.comments.empty': 'Әзірге пікірлер жоқ.',
    'live.comments.you': 'сіз',
    'live.comments.hidden': 'Жасырылды: {reason}',
    'live.status.visible': 'Жарияланды',
    'live.status.held': 'Модератор тексеруін күтуде',
    'live.status.hidden': 'Жасырылды: {reason}',
    'live.status.promoted': '№{n} сұраққа айналды',
    'live.status.sending': 'Жіберілуде…',
    'live.reason.spam': 'спам',
    'live.reason.insult': 'қорлау',
    'live.reason.personal_data': 'дербес деректер',
    'live.reason.off_topic': 'тақырыпқа қатысы жоқ',
    'live.reason.unlawful': 'заңға қайшы мазмұн',
    'live.reason.duplicate': 'қайталау',
    'live.post.label': 'Пікіріңіз немесе сұрағыңыз',
    'live.post.count': '{n} / {max}',
    'live.post.submit': 'Жіберу',
    'live.post.sending': 'Жіберілуде…',
    'live.post.wait': 'Күтіңіз: {n} с',
    'live.post.notLive': 'Пікірлер кездесу жүріп жатқанда қабылданады.',
    'live.post.viewersOnly': 'Пікірді тек талқылауға қосылған көрермендер қалдыра алады.',
    'live.post.banned': 'Сізге бұл кездесуде пікір жазуға тыйым салынды.',
    'live.post.timedOut': 'Модератор пікірлеріңізді уақытша тоқтатты. Қайта жазуға болатын уақыт: {time}.',
    'live.post.slowMode': 'Баяу режим: пікірлер арасында {n} с өтуі керек.',
    'live.post.holdFirst': 'Алғашқы пікірлер модератор тексергеннен кейін жарияланады.',
    'live.post.offline': 'Байланыс қалпына келгенде пікір жіберіледі.',
    'live.mine.title': 'Менің пікірлерім ({n})',
    'live.error.text_empty': 'Пікір бос.',
    'live.error.text_too_long': 'Пікір тым ұзын.',
    'live.error.rate_limited': 'Тым жиі жазып жатырсыз. Сәл күтіңіз.',
    'live.error.slow_mode': 'Баяу режим қосулы. Келесі пікірге дейін күтіңіз.',
    'live.error.timed_out': 'Модератор пікірлеріңізді уақытша тоқтатты.',
    'live.error.banned': 'Сізге бұл кездесуде пікір жазуға және дауыс беруге тыйым салынды.',
    'live.error.not_live': 'Пікірлер кездесу жүріп жатқанда ғана қабылданады.',
    'live.error.viewers_only': 'Мұны тек көрермендер жасай алады.',
    'live.error.forbidden': 'Бұл әрекетке рұқсат жоқ.',
    'live.error.unknown_question': 'Мұндай сұрақ жоқ.',
    'live.error.question_closed': 'Бұл сұрақ жабылған.',
    'live.error.unavailable': 'Сақтау мүмкін болмады. Қайталап көріңіз.',
    'live.error.message_too_large': 'Хабарлама тым үлкен.',
    'live.error.offline': 'Байланыс жоқ. Қайта қосылуды күтіңіз.',
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
    'live.title': 'Обсуждение',
    'live.connection.connecting': 'Подключение к обсуждению…',
    'live.connection.live': 'Обсуждение обновляется в реальном времени',
    'live.connection.reconnecting': 'Связь потеряна, переподключение…',
    'live.connection.closed': 'Отключено от обсуждения',
    'live.viewers': 'Сейчас подключены: {n}',
    'live.closed': 'Обсуждение закрыто.',
    'live.joinedAs': 'Вы участвуете под именем «{name}».',
    'live.leave': 'Покинуть обсуждение',
    'live.join.intro': 'Присоединитесь к обсуждению, чтобы читать комментарии, задавать вопросы и поддерживать их.',
    'live.join.name': 'Ваше имя',
    'live.join.hint': 'Имя будет показано рядом с вашими комментариями (до 60 символов).',
    'live.join.submit': 'Присоединиться к обсуждению',
    'live.join.joining': 'Подключение…',
    'live.join.nameRequired': 'Введите имя.',
    'live.join.invalidName': 'Это имя использовать нельзя. Введите другое.',
    'live.join.over': 'Встреча завершена или отменена, обсуждение закрыто.',
    'live.join.rateLimited': 'Слишком много попыток. Повторите чуть позже.',
    'live.join.expired': 'Ваш сеанс истёк. Присоединитесь к обсуждению снова.',
    'live.questions.title': 'Вопросы',
    'live.questions.onAir': 'Сейчас отвечают на вопрос',
    'live.questions.empty': 'Вопросов пока нет. Модераторы составляют вопросы из комментариев.',
    'live.questions.number': '№{n}',
    'live.questions.untitled': 'Вопрос №{n}',
    'live.questions.queueEmpty': 'В очереди нет вопросов.',
    'live.questions.pinned': 'Закреплён',
    'live.questions.votes': 'Голосов: {n}',
    'live.questions.vote': 'Поддержать',
    'live.questions.closed': 'Отвеченные и снятые вопросы ({n})',
    'live.questions.answered': 'Ответ: {text}',
    'live.questions.answeredPlain': 'Ответ дан',
    'live.questions.dismissed': 'Снят: {text}',
    'live.questions.dismissedPlain': 'Снят',
    'live.comments.title': 'Комментарии',
    'live.comments.empty': 'Комментариев пока нет.',
    'live.comments.you': 'вы',
    'live.comments.hidden': 'Скрыт: {reason}',
    'live.status.visible': 'Опубликован',
    'live.status.held': 'Ожидает проверки модератором',
    'live.status.hidden': 'Скрыт: {reason}',
    'live.status.promoted': 'Стал вопросом №{n}',
    'live.status.sending': 'Отправка…',
    'live.reason.spam': 'спам',
    'live.reason.insult': 'оскорбление',
    'live.reason.personal_data': 'персональные данные',
    'live.reason.off_topic': 'не по теме',
    'live.reason.unlawful': 'противоправное содержание',
    'live.reason.duplicate': 'повтор',
    'live.post.label': 'Ваш комментарий или вопрос',
    'live.post.count': '{n} / {max}',
    'live.post.submit': 'Отправить',
    'live.post.sending': 'Отправка…',
    'live.post.wait': 'Подождите {n} с',
    'live.post.notLive': 'Комментарии принимаются, пока идёт встреча.',
    'live.post.viewersOnly': 'Комментировать могут только зрители, присоединившиеся к обсуждению.',
    'live.post.banned': 'Вам запрещено комментировать на этой встрече.',
    'live.post.timedOut': 'Модератор временно ограничил ваши комментарии. Писать снова можно с {time}.',
    'live.post.slowMode': 'Медленный режим: между комментариями должно пройти {n} с.',
    'live.post.holdFirst': 'Первые комментарии публикуются после проверки модератором.',
    'live.post.offline': 'Комментарий будет отправлен, когда связь восстановится.',
    'live.mine.title': 'Мои комментарии ({n})',
    'live.error.text_empty': 'Комментарий пуст.',
    'live.error.text_too_long': 'Комментарий слишком длинный.',
    'live.error.rate_limited': 'Вы пишете слишком часто. Подождите немного.',
    'live.error.slow_mode': 'Включён медленный режим. Подождите перед следующим комментарием.',
    'live.error.timed_out': 'Модератор временно ограничил ваши комментарии.',
    'live.error.banned': 'Вам запрещено комментировать и голосовать на этой встрече.',
    'live.error.not_live': 'Комментарии принимаются только во время встречи.',
    'live.error.viewers_only': 'Это могут делать только зрители.',
    'live.error.forbidden': 'Это действие недоступно.',
    'live.error.unknown_question': 'Такого вопроса нет.',
    'live.error.question_closed': 'Этот вопрос уже закрыт.',
    'live.error.unavailable': 'Не удалось сохранить. Попробуйте ещё раз.',
    'live.error.message_too_large': 'Сообщение слишком большое.',
    'live.error.offline': 'Нет связи. Дождитесь переподключения.',
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
    'live.title': 'Discussion',
    'live.connection.connecting': 'Connecting to the discussion…',
    'live.connection.live': 'Discussion updates live',
    'live.connection.reconnecting': 'Connection lost, reconnecting…',
    'live.connection.closed': 'Disconnected from the discussion',
    'live.viewers': 'Connected now: {n}',
    'live.closed': 'The discussion is closed.',
    'live.joinedAs': 'You are taking part as “{name}”.',
    'live.leave': 'Leave the discussion',
    'live.join.intro': 'Join the discussion to read the comments, ask questions and support them.',
    'live.join.name': 'Your name',
    'live.join.hint': 'Shown next to your comments (up to 60 characters).',
    'live.join.submit': 'Join the discussion',
    'live.join.joining': 'Joining…',
    'live.join.nameRequired': 'Enter your name.',
    'live.join.invalidName': 'This name cannot be used. Try another one.',
    'live.join.over': 'The meeting is over or cancelled; the discussion is closed.',
    'live.join.rateLimited': 'Too many attempts. Try again shortly.',
    'live.join.expired': 'Your session has expired. Join the discussion again.',
    'live.questions.title': 'Questions',
    'live.questions.onAir': 'Being answered now',
    'live.questions.empty': 'No questions yet. Moderators raise questions from the comments.',
    'live.questions.number': 'No. {n}',
    'live.questions.untitled': 'Question {n}',
    'live.questions.queueEmpty': 'No questions in the queue.',
    'live.questions.pinned': 'Pinned',
    'live.questions.votes': 'Votes: {n}',
    'live.questions.vote': 'Support',
    'live.questions.closed': 'Answered and dismissed questions ({n})',
    'live.questions.answered': 'Answer: {text}',
    'live.questions.answeredPlain': 'Answered',
    'live.questions.dismissed': 'Dismissed: {text}',
    'live.questions.dismissedPlain': 'Dismissed',
    'live.comments.title': 'Comments',
    'live.comments.empty': 'No comments yet.',
    'live.comments.you': 'you',
    'live.comments.hidden': 'Hidden: {reason}',
    'live.status.visible': 'Visible',
    'live.status.held': 'Awaiting review',
    'live.status.hidden': 'Hidden: {reason}',
    'live.status.promoted': 'Became question {n}',
    'live.status.sending': 'Sending…',
    'live.reason.spam': 'spam',
    'live.reason.insult': 'insult',
    'live.reason.personal_data': 'personal data',
    'live.reason.off_topic': 'off topic',
    'live.reason.unlawful': 'unlawful content',
    'live.reason.duplicate': 'duplicate',
    'live.post.label': 'Your comment or question',
    'live.post.count': '{n} / {max}',
    'live.post.submit': 'Send',
    'live.post.sending': 'Sending…',
    'live.post.wait': 'Wait {n} s',
    'live.post.notLive': 'Comments are taken while the meeting is live.',
    'live.post.viewersOnly': 'Only viewers who joined the discussion can comment.',
    'live.post.banned': 'You are banned from commenting in this meeting.',
    'live.post.timedOut': 'A moderator paused your comments. You can write again from {time}.',
    'live.post.slowMode': 'Slow mode: {n} s between comments.',
    'live.post.holdFirst': 'First comments appear after a moderator reviews them.',
    'live.post.offline': 'Your comment will be sent when the connection is back.',
    'live.mine.title': 'My comments ({n})',
    'live.error.text_empty': 'The comment is empty.',
    'live.error.text_too_long': 'The comment is too long.',
    'live.error.rate_limited': 'You are commenting too often. Please wait a little.',
    'live.error.slow_mode': 'Slow mode is on. Wait before your next comment.',
    'live.error.timed_out': 'A moderator has paused your comments for a while.',
    'live.error.banned': 'You are banned from commenting and voting in this meeting.',
    'live.error.not_live': 'Comments are taken only while the meeting is live.',
    'live.error.viewers_only': 'Only viewers can do this.',
    'live.error.forbidden': 'This action is not allowed.',
    'live.error.unknown_question': 'There is no such question.',
    'live.error.question_closed': 'This question is closed.',
    'live.error.unavailable': 'Could not be saved. Please try again.',
    'live.error.message_too_large': 'The message is too large.',
    'live.error.offline': 'Not connected. Wait for the connection to come back.',
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

/** A time of day (hours and minutes) in the meeting's time zone. */
export function formatMeetingTime(isoText, timeZone = DEFAULT_TIME_ZONE) {
  const date = new Date(isoText);
  if (!isoText || Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(LOCALES[currentLanguage], {
    timeZone: timeZone || DEFAULT_TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(date);
}

/** A count in the chosen language's digit grouping (1 843, 1,843). */
export function formatNumber(value) {
  return new Intl.NumberFormat(LOCALES[currentLanguage]).format(value);
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
