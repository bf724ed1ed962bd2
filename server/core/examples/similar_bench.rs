//! The cost of finding a near-duplicate among the open items, per new comment.
//!
//! Builds a `SimilarityIndex` of 5,000 open items (comments and questions) made of generated
//! Kazakh and Russian citizens' comments (roads, heating, water, schools, bus routes, …, with
//! typos, look-alike letters and missing Kazakh letters, so that near-duplicates exist), then
//! times `normalize` + `best_match` for 20,000 new comments, and beside it brute force (trigram
//! Jaccard against all 5,000) for a sample of them, checking both give the same answers.
//!
//! Run: `tests/bench/similar.sh` (`cargo run --release -p kezdesu-core --example similar_bench`).
//! Results: docs/bench/moderation.md.

// A benchmark measures time; the core's rule against reading the clock is for the library.
#![allow(clippy::disallowed_methods)]

use kezdesu_core::moderation::{
    ModerationRules, SimilarKey, SimilarityIndex, jaccard_per_mille, normalize, trigrams,
};
use kezdesu_core::{CommentId, QuestionId};
use std::time::Instant;

const OPEN_ITEMS: usize = 5_000;
const NEW_COMMENTS: usize = 20_000;
const BRUTE_FORCE_SAMPLE: usize = 1_000;

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const STREETS: &[&str] = &[
    "Абая",
    "Сатпаева",
    "Толе би",
    "Жибек Жолы",
    "Байтурсынова",
    "Кунаева",
    "Гагарина",
    "Момышулы",
    "Райымбека",
    "Жандосова",
    "Аль-Фараби",
    "Гоголя",
    "Пушкина",
    "Достык",
    "Манаса",
    "Тимирязева",
    "Розыбакиева",
    "Муканова",
    "Фурманова",
    "Сейфуллина",
    "Шевченко",
    "Богенбай батыра",
    "Төле би",
    "Әуезова",
    "Жамбыла",
    "Ташкентская",
    "Рыскулова",
    "Северное кольцо",
];
const VILLAGES: &[&str] = &[
    "Қаскелең",
    "Талғар",
    "Есік",
    "Шамалған",
    "Үшқоңыр",
    "Бесағаш",
    "Өтеген батыр",
    "Жетіген",
    "Балпық би",
    "Сарқан",
    "Көктөбе",
    "Іргелі",
    "Түрген",
    "Ақсай",
    "Бұрындай",
];
const DISTRICTS: &[&str] = &[
    "Алатауский район",
    "Наурызбайский район",
    "микрорайон Шанырак",
    "мкр Айнабулак",
    "Жетысуский район",
    "Әуезов ауданы",
    "Түрксіб ауданы",
    "мкр Орбита",
    "мкр Калкаман",
];
const GREETINGS: &[&str] = &[
    "",
    "",
    "",
    "Здравствуйте! ",
    "Добрый день, ",
    "Уважаемый аким, ",
    "Сәлеметсіз бе! ",
    "Әкім мырза, ",
    "Құрметті әкім, ",
    "Аким, ",
];
const TAILS: &[&str] = &[
    "",
    "",
    "?",
    "!!",
    " Спасибо.",
    " Рахмет.",
    " Сколько можно ждать?",
    " Жауап беріңізші.",
    " Жители ждут ответа.",
    " Тұрғындар наразы.",
    " Примите меры!",
];

/// Complaints by subject, several wordings each; `{place}` is where.
const RU: &[&[&str]] = &[
    &[
        "Когда отремонтируют дорогу {place}? Ямы по колено",
        "Дорога {place} разбита, машины ломаются каждый день",
        "Почему {place} до сих пор не сделали асфальт",
        "Ямочный ремонт {place} сделали плохо, всё опять разбито",
    ],
    &[
        "{place} нет отопления уже {days} дней, дети болеют",
        "Батареи холодные {place}, когда дадут тепло",
        "Почему тарифы на отопление выросли вдвое, а {place} холодно",
    ],
    &[
        "Нет воды {place} с {day} числа, когда дадут",
        "Вода из крана {place} ржавая, пить невозможно",
        "Прорвало трубу {place}, вода течёт третий день",
    ],
    &[
        "Почему в школе №{num} до сих пор не работает столовая",
        "В школе №{num} протекает крыша, дети сидят в куртках",
        "Школа №{num} переполнена, учатся в три смены",
    ],
    &[
        "Автобус №{route} ходит раз в час, нужно добавить рейсы утром",
        "Маршрут {route} отменили, теперь {place} до работы два часа",
        "Почему автобусы {place} не ходят после девяти вечера",
    ],
    &["Когда будет уличное освещение {place}, вечером темно и опасно", "Фонари {place} не горят с осени"],
    &["Просим построить детскую площадку {place}", "Старая площадка {place} сломана, дети могут пораниться"],
    &[
        "Мусор не вывозят уже неделю {place}, контейнеры переполнены",
        "Стихийная свалка {place}, кто будет убирать",
    ],
    &[
        "Бродячие собаки {place}, дети боятся ходить в школу №{num}",
        "Стая собак {place} напала на ребёнка, примите меры",
    ],
    &[
        "Когда проведут газ {place}, обещали ещё в прошлом году",
        "Газификация {place} стоит на месте уже три года",
    ],
    &[
        "Нужен светофор {place}, каждый день аварии",
        "Нет пешеходного перехода {place}, дети перебегают дорогу",
    ],
    &["В поликлинике {place} очереди по три часа, не хватает врачей", "Скорая {place} едет больше часа"],
    &["Детский сад {place} переполнен, очередь на годы", "Когда откроют новый детский сад {place}"],
];
const KK: &[&[&str]] = &[
    &[
        "{place} жол қашан жөнделеді? Шұңқырлар толы",
        "{place} жол бұзылған, көліктер күнде сынады",
        "Неге {place} әлі күнге асфальт төселмеген",
    ],
    &[
        "{place} {days} күннен бері жылу жоқ, балалар ауырып жатыр",
        "{place} батареялар суық, жылу қашан береді",
    ],
    &["{place} ауыз су жоқ, {days} күн болды", "{place} судың сапасы нашар, ішуге болмайды"],
    &["№{num} мектепте жылу жоқ, балалар тоңып отыр", "№{num} мектептің шатыры ағып тұр"],
    &[
        "{route} автобус сағатына бір рет жүреді, қосымша рейс керек",
        "{route} бағыты жабылды, {place} жұмысқа жету екі сағат",
    ],
    &["{place} газ қашан тартылады, былтыр уәде бердіңіздер", "{place} газдандыру үш жылдан бері тоқтап тұр"],
    &["Көше жарығы жанбайды, {place} кешке қараңғы", "{place} шамдар күзден бері жанбайды"],
    &["Балалар алаңын салып беріңізші, {place}", "{place} балалар алаңы сынған, қауіпті"],
    &["Қоқыс бір апта бойы шығарылмады, {place}", "{place} заңсыз қоқыс үйіндісі пайда болды"],
    &["{place} бағдаршам керек, күнде апат", "{place} жаяу жүргінші өткелі жоқ"],
    &[
        "Емханада кезек үш сағат, {place} дәрігер жетіспейді",
        "{place} жедел жәрдем бір сағаттан артық келеді",
    ],
    &["Балабақшаға кезек бірнеше жыл, {place}", "{place} жаңа балабақша қашан ашылады"],
    &["Ит көп, {place} балалар мектепке баруға қорқады", "{place} қаңғыбас иттер балаға шабуыл жасады"],
];
/// Where, in each language.
const RU_PLACES: &[&str] =
    &["на улице {street}", "в селе {village}", "в {district}", "у дома {num} по {street}", "на {street}"];
const KK_PLACES: &[&str] =
    &["{street} көшесінде", "{village} ауылында", "{district}", "{street} көшесі {num} үйде"];

/// Sentences that follow a complaint, so that two comments on one subject still differ.
const RU_MORE: &[&str] = &[
    "Мы писали в акимат три раза, ответа нет.",
    "Пенсионерам очень тяжело.",
    "Фото могу прислать.",
    "Обещали сделать ещё весной.",
    "Дети ходят в школу по обочине.",
    "Соседи подписали обращение.",
    "Подрядчик уехал и не вернулся.",
    "Это уже не первый год.",
    "Просим взять на контроль.",
    "Звонили в 109, сказали ждать.",
    "Зимой здесь вообще не пройти.",
    "Кто несёт ответственность?",
    "Деньги выделяли, где результат?",
    "Нас здесь двести семей.",
    "Уже было два несчастных случая.",
    "Живу здесь с 1998 года.",
    "Мама инвалид, ей не выйти из дома.",
    "Налоги платим исправно.",
    "В соседнем районе давно сделали.",
    "Ответьте, пожалуйста, конкретно, со сроками.",
];
const KK_MORE: &[&str] = &[
    "Әкімдікке үш рет жаздық, жауап жоқ.",
    "Зейнеткерлерге өте қиын.",
    "Суретін жібере аламын.",
    "Көктемде жасаймыз деп уәде берген.",
    "Балалар мектепке жол шетімен барады.",
    "Көршілер өтінішке қол қойды.",
    "Мердігер кетіп қалды.",
    "Бұл бірінші жыл емес.",
    "Бақылауға алуыңызды сұраймыз.",
    "109-ға қоңырау шалдық, күтіңіз деді.",
    "Қыста мүлде өтуге болмайды.",
    "Ақша бөлінген, нәтиже қайда?",
    "Мұнда екі жүз отбасы тұрады.",
    "Мен мұнда 1998 жылдан бері тұрамын.",
    "Көрші ауданда баяғыда жасалған.",
    "Нақты мерзімін айтыңызшы.",
    "Салықты уақытылы төлейміз.",
];

/// One generated citizen's comment.
fn comment(rng: &mut Rng) -> String {
    let russian = rng.chance(50);
    let (topics, places, more) = if russian { (RU, RU_PLACES, RU_MORE) } else { (KK, KK_PLACES, KK_MORE) };
    let topic = topics[rng.below(topics.len())];
    let mut text = format!("{}{}.", rng.pick(GREETINGS), rng.pick(topic));
    text = text.replace("{place}", rng.pick(places));
    for _ in 0..rng.below(3) {
        text.push(' ');
        text.push_str(rng.pick(more));
    }
    text.push_str(rng.pick(TAILS));
    for (slot, value) in [
        ("{street}", rng.pick(STREETS).to_owned()),
        ("{village}", rng.pick(VILLAGES).to_owned()),
        ("{district}", rng.pick(DISTRICTS).to_owned()),
        ("{num}", (1 + rng.below(150)).to_string()),
        ("{route}", (1 + rng.below(120)).to_string()),
        ("{days}", (2 + rng.below(12)).to_string()),
        ("{day}", (1 + rng.below(28)).to_string()),
    ] {
        text = text.replace(slot, &value);
    }
    let mut chars = text.chars();
    let text: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    disfigure(rng, &text)
}

/// Typos and keyboard habits: no Kazakh letters, a Latin look-alike, a letter dropped,
/// doubled or swapped, capitals.
fn disfigure(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if rng.chance(30) {
        for c in &mut chars {
            *c = match *c {
                'қ' => 'к',
                'ә' => 'а',
                'і' => 'и',
                'ң' => 'н',
                'ғ' => 'г',
                'ү' | 'ұ' => 'у',
                'ө' => 'о',
                'Қ' => 'К',
                other => other,
            };
        }
    }
    let typos = rng.below(4);
    for _ in 0..typos {
        if chars.len() < 3 {
            break;
        }
        let at = rng.below(chars.len() - 1);
        match rng.below(4) {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, chars[at]),
            2 => chars.swap(at, at + 1),
            _ => {
                chars[at] = match chars[at] {
                    'а' => 'a',
                    'о' => 'o',
                    'е' => 'e',
                    'р' => 'p',
                    'с' => 'c',
                    other => other,
                }
            }
        }
    }
    let text: String = chars.into_iter().collect();
    if rng.chance(5) { text.to_uppercase() } else { text }
}

/// This thread's CPU time in nanoseconds (Linux), which waiting for a busy machine's cores
/// does not inflate as it does the wall-clock times.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

struct Stats {
    micros: Vec<f64>,
    /// CPU time per operation, µs.
    cpu: Option<f64>,
}

impl Stats {
    fn new(mut micros: Vec<f64>, cpu_ns: Option<u64>) -> Stats {
        micros.sort_by(f64::total_cmp);
        let cpu = cpu_ns.map(|ns| ns as f64 / 1e3 / micros.len().max(1) as f64);
        Stats { micros, cpu }
    }
    fn quantile(&self, q: f64) -> f64 {
        let i = ((self.micros.len() as f64 - 1.0) * q).round() as usize;
        self.micros.get(i).copied().unwrap_or(f64::NAN)
    }
    fn mean(&self) -> f64 {
        self.micros.iter().sum::<f64>() / self.micros.len().max(1) as f64
    }
    fn line(&self, what: &str) -> String {
        format!(
            "| {what} | {} | {:.1} | {:.1} | {:.1} | {} |",
            self.micros.len(),
            self.quantile(0.5),
            self.quantile(0.99),
            self.mean(),
            self.cpu.map_or("–".to_owned(), |cpu| format!("{cpu:.1}"))
        )
    }
}

fn main() {
    let rules = match ModerationRules::shipped() {
        Ok(rules) => rules,
        Err(error) => panic!("shipped rules: {error}"),
    };
    let threshold = rules.duplicate_threshold_per_mille;
    let mut rng = Rng(0x5EED_2024_0018_0001);

    let mut index = SimilarityIndex::default();
    let mut open: Vec<(SimilarKey, Vec<u32>)> = Vec::with_capacity(OPEN_ITEMS);
    let mut texts: Vec<String> = Vec::with_capacity(OPEN_ITEMS);
    let mut chars = 0usize;
    let started = Instant::now();
    for i in 0..OPEN_ITEMS {
        let text = comment(&mut rng);
        chars += text.chars().count();
        texts.push(text.clone());
        let key = if i % 5 == 0 {
            SimilarKey::Question(QuestionId(i as i64))
        } else {
            SimilarKey::Comment(CommentId(i as i64))
        };
        let normalized = normalize(&text);
        index.insert(key, &normalized);
        open.push((key, trigrams(&normalized)));
    }
    let build = started.elapsed();
    // Some items answered or hidden meanwhile, as in a meeting: removal leaves tombstones.
    for i in (0..OPEN_ITEMS).step_by(10) {
        let key = open[i].0;
        index.remove(key);
        let text = comment(&mut rng);
        index.insert(key, &normalize(&text));
        open[i].1 = trigrams(&normalize(&text));
        texts[i] = text;
    }

    // A quarter of the new comments repeat an open item in other words (another greeting and
    // ending, typos, no Kazakh keyboard): the near-duplicates to find. The rest are new.
    let new: Vec<String> = (0..NEW_COMMENTS)
        .map(|_| {
            if rng.chance(25) {
                let original = &texts[rng.below(texts.len())];
                let core = GREETINGS
                    .iter()
                    .filter(|g| !g.is_empty())
                    .find_map(|g| original.strip_prefix(g))
                    .unwrap_or(original);
                let text = format!("{}{core}", rng.pick(GREETINGS));
                disfigure(&mut rng, &text)
            } else {
                comment(&mut rng)
            }
        })
        .collect();
    let new_chars: usize = new.iter().map(|t| t.chars().count()).sum();

    // normalize alone, and the automatic rules, for scale.
    let cpu = thread_cpu_ns();
    let mut normalize_us = Vec::with_capacity(NEW_COMMENTS);
    let mut normalized = Vec::with_capacity(NEW_COMMENTS);
    for text in &new {
        let t = Instant::now();
        let n = normalize(text);
        normalize_us.push(t.elapsed().as_secs_f64() * 1e6);
        normalized.push(n);
    }
    let normalize_cpu = thread_cpu_ns().zip(cpu).map(|(after, before)| after.saturating_sub(before));

    let cpu = thread_cpu_ns();
    let mut check_us = Vec::with_capacity(NEW_COMMENTS);
    for (text, normalized) in new.iter().zip(&normalized) {
        let t = Instant::now();
        let verdict = rules.auto.check_normalized(text, normalized, &[], jiff::Timestamp::UNIX_EPOCH);
        check_us.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(verdict);
    }
    let check_cpu = thread_cpu_ns().zip(cpu).map(|(after, before)| after.saturating_sub(before));

    // The index: normalize + trigrams + best_match.
    let cpu = thread_cpu_ns();
    let mut index_us = Vec::with_capacity(NEW_COMMENTS);
    let mut answers = Vec::with_capacity(NEW_COMMENTS);
    for text in &new {
        let t = Instant::now();
        let normalized = normalize(text);
        let best = index.best_match(&normalized, threshold);
        index_us.push(t.elapsed().as_secs_f64() * 1e6);
        answers.push(best);
    }
    let index_cpu = thread_cpu_ns().zip(cpu).map(|(after, before)| after.saturating_sub(before));
    let matched = answers.iter().filter(|a| a.is_some()).count();

    // Brute force: normalize + trigrams + Jaccard against every open item.
    let cpu = thread_cpu_ns();
    let mut brute_us = Vec::with_capacity(BRUTE_FORCE_SAMPLE);
    let mut agree = 0;
    for (text, answer) in new.iter().zip(&answers).take(BRUTE_FORCE_SAMPLE) {
        let t = Instant::now();
        let query = trigrams(&normalize(text));
        let mut best: Option<(SimilarKey, u16)> = None;
        for (key, item) in &open {
            let score = jaccard_per_mille(&query, item);
            if score >= threshold.max(1)
                && best.is_none_or(|(bk, bs)| {
                    score > bs
                        || (score == bs
                            && match (key, bk) {
                                (SimilarKey::Question(_), SimilarKey::Comment(_)) => true,
                                (SimilarKey::Question(a), SimilarKey::Question(b)) => *a < b,
                                (SimilarKey::Comment(a), SimilarKey::Comment(b)) => *a < b,
                                _ => false,
                            })
                })
            {
                best = Some((*key, score));
            }
        }
        brute_us.push(t.elapsed().as_secs_f64() * 1e6);
        if best == *answer {
            agree += 1;
        }
    }
    let brute_cpu = thread_cpu_ns().zip(cpu).map(|(after, before)| after.saturating_sub(before));

    println!(
        "open items: {OPEN_ITEMS} ({:.0} chars on average), built in {:.1} ms",
        chars as f64 / OPEN_ITEMS as f64,
        build.as_secs_f64() * 1e3
    );
    println!(
        "new comments: {NEW_COMMENTS} ({:.0} chars on average); duplicate threshold {threshold}‰",
        new_chars as f64 / NEW_COMMENTS as f64
    );
    println!("suggested as a duplicate: {matched} of {NEW_COMMENTS}");
    println!("brute force agrees with the index on {agree} of {BRUTE_FORCE_SAMPLE}");
    println!();
    println!("| per comment | comments | p50 µs | p99 µs | mean µs | CPU µs |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!("{}", Stats::new(normalize_us, normalize_cpu).line("`normalize`"));
    println!("{}", Stats::new(check_us, check_cpu).line("`AutoRules::check_normalized` (no recent texts)"));
    println!("{}", Stats::new(index_us, index_cpu).line("`normalize` + `best_match` (index)"));
    println!(
        "{}",
        Stats::new(brute_us, brute_cpu).line("`normalize` + `trigrams` + Jaccard × 5,000 (brute force)")
    );
    println!();
    println!("(p50, p99 and mean are wall-clock times of each comment; CPU µs is this thread's CPU");
    println!("time for the whole loop, divided by the comments, which a busy machine does not inflate.)");
    assert_eq!(agree, BRUTE_FORCE_SAMPLE, "the index must answer as brute force does");
}
