// The meeting page's discussion panel (live.js): reading without joining, the pause of the
// comment list, throttled announcements, and why an automatic rule held or hid a comment.
export default {
  kk: {
    'live.comments.new': 'Жаңа пікірлер: {n}',
    'live.comments.announce': 'Жаңа пікірлер: {n}',
    'live.join.toVote': 'Сұрақты қолдау үшін атыңызды жазып, талқылауға қосылыңыз.',
    'live.status.heldByRule': 'Автоматты ереже тексеруге ұстап қалды: {rule}',
    'live.status.hiddenByRule': 'Автоматты ереже жасырды: {rule}',
    'live.rule.link': 'сілтеме',
    'live.rule.blocked_term': 'тыйым салынған сөз',
  },
  ru: {
    'live.comments.new': 'Новые комментарии: {n}',
    'live.comments.announce': 'Новые комментарии: {n}',
    'live.join.toVote': 'Чтобы поддержать вопрос, назовитесь и присоединитесь к обсуждению.',
    'live.status.heldByRule': 'Задержан для проверки автоматическим правилом: {rule}',
    'live.status.hiddenByRule': 'Скрыт автоматическим правилом: {rule}',
    'live.rule.link': 'ссылка',
    'live.rule.blocked_term': 'запрещённое слово',
  },
  en: {
    'live.comments.new': 'New comments: {n}',
    'live.comments.announce': 'New comments: {n}',
    'live.join.toVote': 'To support a question, give your name and join the discussion.',
    'live.status.heldByRule': 'Held for review by an automatic rule: {rule}',
    'live.status.hiddenByRule': 'Hidden by an automatic rule: {rule}',
    'live.rule.link': 'link',
    'live.rule.blocked_term': 'blocked word',
  },
};
