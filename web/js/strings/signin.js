// The sign-in page (signin.html, signin.js). Registered with i18n.js's registerStrings.
export default {
  kk: {
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
